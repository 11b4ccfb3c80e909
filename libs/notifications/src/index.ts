export { NotificationsModule } from './notifications.module';
export { OutboxMessage } from './entities/outbox-message.entity';
export * from './notifier';
