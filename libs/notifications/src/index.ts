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
export { Notifiers } from './notifiers';
export {
  messageContent,
  messageText,
  messageTemplateProblem,
  MESSAGE_TEMPLATE_PLACEHOLDERS,
  MESSAGE_TEMPLATE_MAX_LENGTH,
} from './templates/message-text';
export type { MessageContent, MessageParts } from './templates/message-text';
export { LOCALES, localeFromAcceptLanguage, resolveLocale } from './templates/locale-texts';
export type { Locale } from './templates/locale-texts';
export { NOTIFICATIONS_FUNCTIONS } from './notifications-functions';
export {
  DeliveryReceipts,
  isReceiptStatus,
  RECEIPT_RANKS,
} from './receipts/delivery-receipts.service';
export type { Receipt, ReceiptOutcome } from './receipts/delivery-receipts.service';
export { validTwilioSignature } from './drivers/twilio.notifier';
export { MessageHistory, MESSAGE_HISTORY_LIMIT } from './receipts/message-history';
export type { DeliveryStatusView, MessageView } from './receipts/message-history';
