import { loadConfig } from '@app/config';
import { buildNotifiers } from './notifier.provider';
import { PermanentDeliveryError } from './notifier';

describe('buildNotifiers', () => {
  it('gives each enabled channel the driver its variable names, sharing instances', async () => {
    const notifiers = buildNotifiers(
      loadConfig({
        NOTIFY_CHANNELS: 'sms,whatsapp,voice,email,telegram',
        NOTIFY_DRIVER: 'twilio',
        TWILIO_ACCOUNT_SID: 'AC123',
        TWILIO_AUTH_TOKEN: 'token',
        TWILIO_FROM: '+15005550006',
        TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
        EMAIL_DRIVER: 'smtp',
        SMTP_URL: 'smtp://127.0.0.1:2525',
        EMAIL_FROM: 'no-reply@example.com',
        TELEGRAM_DRIVER: 'telegram',
        TELEGRAM_BOT_TOKEN: '123:' + 'a'.repeat(30),
      }),
    );
    expect(notifiers.channels).toEqual(['sms', 'whatsapp', 'voice', 'email', 'telegram']);
    expect(notifiers.channels.map((channel) => notifiers.for(channel).name)).toEqual([
      'twilio',
      'twilio',
      'twilio',
      'smtp',
      'telegram',
    ]);
    expect(notifiers.for('sms')).toBe(notifiers.for('voice'));
    await notifiers.onModuleDestroy();
  });

  it('uses one file driver for every channel in development, and refuses disabled channels', async () => {
    const notifiers = buildNotifiers(
      loadConfig({
        NOTIFY_CHANNELS: 'sms,email',
        NOTIFY_DRIVER: 'file',
        EMAIL_DRIVER: 'file',
        NOTIFY_FILE: '/tmp/never-written.jsonl',
      }),
    );
    expect(notifiers.for('sms')).toBe(notifiers.for('email'));
    expect(notifiers.for('sms').name).toBe('file');
    expect(() => notifiers.for('voice')).toThrow(PermanentDeliveryError);
    await notifiers.onModuleDestroy();
  });

  it('enables sms alone, on the console, by default', () => {
    const notifiers = buildNotifiers(loadConfig({}));
    expect(notifiers.channels).toEqual(['sms']);
    expect(notifiers.for('sms').name).toBe('console');
  });
});
