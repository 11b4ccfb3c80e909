import { Provider } from '@nestjs/common';
import type { Channel } from '@app/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Notifier } from './notifier';
import { Notifiers } from './notifiers';
import { ConsoleNotifier } from './drivers/console.notifier';
import { FileNotifier } from './drivers/file.notifier';
import { SmtpNotifier } from './drivers/smtp.notifier';
import { TelegramNotifier } from './drivers/telegram.notifier';
import { TwilioNotifier } from './drivers/twilio.notifier';

/**
 * The driver of each enabled channel (NOTIFY_CHANNELS): NOTIFY_DRIVER for sms, whatsapp and
 * voice, EMAIL_DRIVER for email, TELEGRAM_DRIVER for telegram. Channels with the same kind of
 * driver share one instance (one Twilio client, one open NOTIFY_FILE). Config refuses the
 * development drivers in production and a driver without its settings.
 */
export function buildNotifiers(config: AppConfig): Notifiers {
  const { driver, file, twilio, timeoutMs, email, telegram, channels } = config.notify;
  const shared = new Map<string, Notifier>();
  const once = (key: string, make: () => Notifier): Notifier => {
    let made = shared.get(key);
    if (!made) shared.set(key, (made = make()));
    return made;
  };
  const development = (kind: 'console' | 'file'): Notifier =>
    kind === 'console'
      ? once('console', () => new ConsoleNotifier())
      : once('file', () => new FileNotifier(file ?? './.data/messages.jsonl'));
  const driverOf = (channel: Channel): Notifier => {
    switch (channel) {
      case 'sms':
      case 'whatsapp':
      case 'voice':
        return driver === 'twilio'
          ? once('twilio', () => new TwilioNotifier(twilio, timeoutMs))
          : development(driver);
      case 'email':
        return email.driver === 'smtp'
          ? once('smtp', () => new SmtpNotifier(email, timeoutMs))
          : development(email.driver);
      case 'telegram':
        return telegram.driver === 'telegram'
          ? once('telegram', () => new TelegramNotifier(telegram))
          : development(telegram.driver);
    }
  };
  return new Notifiers(new Map(channels.map((channel) => [channel, driverOf(channel)])));
}

/** One driver per enabled channel. */
export const notifiersProvider: Provider = {
  provide: Notifiers,
  inject: [APP_CONFIG],
  useFactory: buildNotifiers,
};
