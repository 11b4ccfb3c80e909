import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** What an outbox row keeps of a message while it waits: encrypted, never in plaintext. */
export interface MessagePayload {
  body: string;
  code?: string;
  authCode?: string;
}

/**
 * AES-256-GCM for outbox payloads, keyed by HKDF(OTP_SECRET). Layout: version | iv | tag | data.
 * A separate derived key keeps this use of the secret apart from code hashing.
 */
export class PayloadCipher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(hkdfSync('sha256', secret, 'otp-link', 'outbox-payload-v1', 32));
  }

  encrypt(payload: MessagePayload): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const data = Buffer.concat([cipher.update(JSON.stringify(payload), 'utf8'), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), data]);
  }

  decrypt(sealed: Buffer): MessagePayload {
    if (sealed[0] !== VERSION) throw new Error('unknown outbox payload version');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAuthTag(tag);
    const data = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
    const json = Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
    return JSON.parse(json) as MessagePayload;
  }
}
