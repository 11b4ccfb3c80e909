import { Module } from '@nestjs/common';
import { APP_CONFIG, AppConfig } from '@app/config';
import { notifiersProvider } from './notifier.provider';
import { Notifiers } from './notifiers';
import { OutboxService } from './outbox/outbox.service';
import { OutboxPoller } from './outbox/outbox.poller';
import { PayloadCipher } from './outbox/payload-cipher';
import { DeliveryReceipts } from './receipts/delivery-receipts.service';
import { MessageHistory } from './receipts/message-history';

/**
 * Sending messages: a driver per channel (the Notifier port), the texts of each channel and
 * locale, and the durable outbox in front of them.
 */
@Module({
  providers: [
    notifiersProvider,
    {
      provide: PayloadCipher,
      inject: [APP_CONFIG],
      useFactory: (config: AppConfig) => new PayloadCipher(config.otp.secret),
    },
    OutboxService,
    OutboxPoller,
    DeliveryReceipts,
    MessageHistory,
  ],
  exports: [OutboxService, Notifiers, DeliveryReceipts, MessageHistory],
})
export class NotificationsModule {}
