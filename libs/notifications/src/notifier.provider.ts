import { Provider } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Notifier } from './notifier';
import { ConsoleNotifier } from './drivers/console.notifier';
import { FileNotifier } from './drivers/file.notifier';
import { TwilioNotifier } from './drivers/twilio.notifier';

/** Picks the delivery driver named by NOTIFY_DRIVER (config refuses dev drivers in production). */
export const notifierProvider: Provider = {
  provide: Notifier,
  inject: [APP_CONFIG],
  useFactory: (config: AppConfig): Notifier => {
    const { driver, file, twilio, timeoutMs } = config.notify;
    switch (driver) {
      case 'console':
        return new ConsoleNotifier();
      case 'file':
        return new FileNotifier(file ?? './.data/messages.jsonl');
      case 'twilio':
        return new TwilioNotifier(twilio, timeoutMs);
    }
  },
};
