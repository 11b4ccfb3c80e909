import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { notifierProvider } from './notifier.provider';
import { OutboxService } from './outbox/outbox.service';
import { OutboxPoller } from './outbox/outbox.poller';
import { PayloadCipher } from './outbox/payload-cipher';

/** Sending messages: the Notifier port with its drivers, and the durable outbox in front of it. */
@Module({
  providers: [
    notifierProvider,
    {
      provide: PayloadCipher,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new PayloadCipher(config.otp.secret),
    },
    OutboxService,
    OutboxPoller,
  ],
  exports: [OutboxService],
})
export class NotificationsModule {}
