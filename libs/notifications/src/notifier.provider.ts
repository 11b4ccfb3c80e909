import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Notifier } from './notifier';
import { Notifiers } from './notifiers';
import { ConsoleNotifier } from './drivers/console.notifier';
import { FileNotifier } from './drivers/file.notifier';
import { TwilioNotifier } from './drivers/twilio.notifier';

/** The SMS driver named by NOTIFY_DRIVER (config refuses dev drivers in production). */
function smsDriver(config: AppConfig): Notifier {
  const { driver, file, twilio, timeoutMs } = config.notify;
  switch (driver) {
    case 'console':
      return new ConsoleNotifier();
    case 'file':
      return new FileNotifier(file ?? './.data/messages.jsonl');
    case 'twilio':
      return new TwilioNotifier(twilio, timeoutMs);
  }
}

/** One driver per enabled channel. */
export const notifiersProvider: Provider = {
  provide: Notifiers,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): Notifiers =>
    new Notifiers(new Map([['sms', smsDriver(config)]])),
};
