/** Channels a message can go out on; only `sms` has a driver today. */
export type Channel = 'sms' | 'voice' | 'email' | 'telegram';

/** One message to deliver. `code`/`authCode` ride along for development drivers only. */
export interface OutgoingMessage {
  /** Stable id (the outbox row id); providers that support it get it for de-duplication. */
  id: string;
  channel: Channel;
  /** Address on the channel; for sms an E.164 number. */
  to: string;
  body: string;
  code?: string;
  authCode?: string;
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

/** The port every delivery driver implements. */
export abstract class Notifier {
  abstract readonly name: string;
  /** Delivers one message or throws (PermanentDeliveryError, or anything else for transient). */
  abstract send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt>;
}
