import { ConsoleNotifier } from './console.notifier';

describe('ConsoleNotifier', () => {
  it('writes one line with the channel, recipient and body', async () => {
    const written: string[] = [];
    const notifier = new ConsoleNotifier((line) => written.push(line));

    const receipt = await notifier.send({
      id: 'outbox-1',
      channel: 'sms',
      to: '+14155550123',
      body: 'Your code is 123456\nDo not share it',
      code: '123456',
    });

    expect(receipt).toEqual({});
    expect(written).toHaveLength(1);
    expect(written[0]).toContain('sms');
    expect(written[0]).toContain('+14155550123');
    expect(written[0]).toContain('Your code is 123456');
    expect(written[0]).not.toContain('\n');
  });

  it('is named console', () => {
    expect(new ConsoleNotifier(() => undefined).name).toBe('console');
  });
});
