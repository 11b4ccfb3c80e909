import type { Channel } from '@app/common';

/** One message to deliver. `code`/`authCode` ride along for development drivers only. */
export interface OutgoingMessage {
  /** Stable id (the outbox row id); providers that support it get it for de-duplication. */
  id: string;
  channel: Channel;
  /** The target's value: an E.164 number, an email address or a Telegram chat id. */
  to: string;
  body: string;
  /** An email's subject. */
  subject?: string;
  /** An email's HTML part as given (the OTP API's `html`); drivers make one from body otherwise. */
  html?: string;
  /** The locale the text is in (`en`, `hi`, …): a call's `<Say language>`. */
  locale?: string;
  code?: string;
  authCode?: string;
  /** Seconds the code has left: a provider that queues may drop the message after them. */
  validForSeconds?: number;
}

export interface DeliveryReceipt {
  /** The provider's id for the message (Twilio's SM… sid), when it gives one. */
  providerMessageId?: string;
}

/**
 * Thrown by a driver when the provider refused the message for good (invalid number,
 * unsubscribed, …): retrying cannot help. Any other error is treated as transient.
 */
export class PermanentDeliveryError extends Error {
  constructor(
    message: string,
    readonly providerCode?: string,
  ) {
    super(message);
    this.name = 'PermanentDeliveryError';
  }
}

/** The port every delivery driver implements; each channel has its own (see Notifiers). */
export abstract class Notifier {
  abstract readonly name: string;
  /** Delivers one message or throws (PermanentDeliveryError, or anything else for transient). */
  abstract send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt>;
}
