export { NotificationsModule } from './notifications.module';
export { OutboxMessage } from './entities/outbox-message.entity';
export { OutboxService, MAX_DELIVERY_ATTEMPTS } from './outbox/outbox.service';
export type {
  DeliveryOutcome,
  MessageAudit,
  PreparedMessage,
  QueuedMessage,
} from './outbox/outbox.service';
export * from './notifier';
