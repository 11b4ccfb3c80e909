import { SecretBox } from '@app/common';

/** What an outbox row keeps of a message while it waits: encrypted, never in plaintext. */
export interface MessagePayload {
  body: string;
  subject?: string;
  /** An email's HTML part as the caller gave it (the OTP API's `html`); else made from body. */
  html?: string;
  locale?: string;
  code?: string;
  authCode?: string;
}

/** Outbox payloads sealed with a key of their own derived from OTP_SECRET. */
export class PayloadCipher {
  private readonly box: SecretBox;

  constructor(secret: string) {
    this.box = new SecretBox(secret, 'outbox-payload-v1');
  }

  encrypt(payload: MessagePayload): Buffer {
    return this.box.seal(JSON.stringify(payload));
  }

  decrypt(sealed: Buffer): MessagePayload {
    return JSON.parse(this.box.open(sealed).toString('utf8')) as MessagePayload;
  }
}
