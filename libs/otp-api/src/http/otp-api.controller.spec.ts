import { chatOf } from './otp-api.controller';

const update = (chat: unknown) => ({
  update_id: 1,
  message: { message_id: 1, chat, text: '/start' },
});

describe('chatOf (the Telegram bot answers private chats only)', () => {
  it('reads the chat of a message in a private chat', () => {
    expect(chatOf(update({ id: 123456789, type: 'private' }))).toBe('123456789');
    expect(chatOf(update({ id: '123456789', type: 'private' }))).toBe('123456789');
  });

  it.each([
    { id: -1001234567890123, type: 'supergroup' },
    { id: -123456789, type: 'group' },
    { id: -1001234567890123, type: 'channel' },
    { id: -1001234567890123 },
    { id: 123456789 },
    { id: 123456789, type: 'PRIVATE' },
    { id: -123456789, type: 'private' },
    { id: '-123456789', type: 'private' },
    { id: 0, type: 'private' },
    { id: 1.5, type: 'private' },
    { id: 'x; DROP', type: 'private' },
  ])('gives no password to %p', (chat) => {
    expect(chatOf(update(chat))).toBeUndefined();
  });

  it.each([
    null,
    undefined,
    'text',
    {},
    { message: null },
    { edited_message: { chat: { id: 5, type: 'private' } } },
  ])('ignores %p', (value) => {
    expect(chatOf(value)).toBeUndefined();
  });
});
