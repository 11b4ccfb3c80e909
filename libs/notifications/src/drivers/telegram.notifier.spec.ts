import {
  FAKE_TELEGRAM_TOKEN,
  startTelegramFake,
  TelegramFake,
} from '../../../../test/support/telegram-fake';
import { failureOf } from '../../../../test/support/failure-of';
import { OutgoingMessage, PermanentDeliveryError } from '../notifier';
import { TelegramNotifier } from './telegram.notifier';

const CHAT = '123456789';
const BODY = '493817 is your verification code. Never share it.';

function message(overrides: Partial<OutgoingMessage> = {}): OutgoingMessage {
  return {
    id: 'outbox-1',
    channel: 'telegram',
    to: CHAT,
    body: BODY,
    code: '493817',
    ...overrides,
  };
}

describe('TelegramNotifier (against a loopback Bot API)', () => {
  let fake: TelegramFake;

  beforeAll(async () => {
    fake = await startTelegramFake();
  });
  afterAll(async () => {
    await fake.close();
  });
  beforeEach(() => fake.reset());

  const notifier = (apiUrl = fake.url, botToken = FAKE_TELEGRAM_TOKEN) =>
    new TelegramNotifier({ driver: 'telegram', botToken, apiUrl });

  function expectSafe(error: Error): void {
    expect(error.message).not.toContain(FAKE_TELEGRAM_TOKEN);
    expect(error.message).not.toContain(BODY);
    expect(error.message).not.toContain(CHAT);
  }

  it('posts sendMessage as JSON to /bot<token>/sendMessage with the chat id and the text', async () => {
    const receipt = await notifier().send(message());

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(`/bot${FAKE_TELEGRAM_TOKEN}/sendMessage`);
    expect(request.contentType).toBe('application/json');
    expect(request.json).toEqual({ chat_id: 123456789, text: BODY, protect_content: true });
    expect(receipt.providerMessageId).toBe(String(fake.sent[0].message_id));
  });

  it('sends to a group chat (a negative id)', async () => {
    await notifier().send(message({ to: '-1001234567890' }));

    expect(fake.sent[0].chat_id).toBe(-1001234567890);
  });

  it('keeps a path prefix of the base URL, and a trailing slash changes nothing', async () => {
    await notifier(`${fake.url}/`).send(message());
    await notifier(`${fake.url}/proxy`)
      .send(message())
      .catch(() => undefined);

    expect(fake.requests.map((request) => request.path)).toEqual([
      `/bot${FAKE_TELEGRAM_TOKEN}/sendMessage`,
      `/proxy/bot${FAKE_TELEGRAM_TOKEN}/sendMessage`,
    ]);
  });

  it.each([
    [403, 'Forbidden: bot was blocked by the user'],
    [400, 'Bad Request: chat not found'],
  ])('turns HTTP %i (%s) into a PermanentDeliveryError', async (status, description) => {
    fake.respondWith({ status, description });

    const error = await failureOf(notifier().send(message()));

    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect((error as PermanentDeliveryError).providerCode).toBe(String(status));
    expectSafe(error);
  });

  it.each([
    [429, 'Too Many Requests: retry after 5'],
    [500, 'Internal Server Error'],
    [502, 'Bad Gateway'],
  ])('treats HTTP %i as transient', async (status, description) => {
    fake.respondWith({ status, description });

    const error = await failureOf(notifier().send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain(`HTTP ${status}`);
    expectSafe(error);
  });

  it('treats a wrong token (401) as transient and never puts the token in the error', async () => {
    const wrong = '999:wrong-token-wrong-token-wrong';
    const error = await failureOf(notifier(fake.url, wrong).send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain('HTTP 401');
    expect(error.message).not.toContain(wrong);
  });

  it('reports a refused connection as transient without the token', async () => {
    const closed = await startTelegramFake();
    const url = closed.url;
    await closed.close();

    const error = await failureOf(notifier(url).send(message()));

    expect(error).not.toBeInstanceOf(PermanentDeliveryError);
    expect(error.message).toContain('ECONNREFUSED');
    expectSafe(error);
  });

  it('does not send when the signal is already aborted', async () => {
    const controller = new AbortController();
    controller.abort();

    await expect(notifier().send(message(), controller.signal)).rejects.toThrow();
    expect(fake.requests).toHaveLength(0);
  });

  it('refuses other channels for good and refuses to start without a token', async () => {
    const error = await failureOf(notifier().send(message({ channel: 'sms' })));
    expect(error).toBeInstanceOf(PermanentDeliveryError);
    expect(fake.requests).toHaveLength(0);
    expect(() => new TelegramNotifier({ driver: 'telegram', apiUrl: fake.url })).toThrow(
      /botToken/,
    );
  });
});
