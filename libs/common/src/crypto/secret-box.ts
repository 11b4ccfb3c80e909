import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';

const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;

/**
 * AES-256-GCM with a key derived by HKDF from a master secret (OTP_SECRET) for one purpose, so
 * each use of the secret (outbox payloads, partner keys) has a key of its own. Layout:
 * version | iv | tag | data. `context` is bound as additional data: a sealed value only opens
 * with the context it was sealed with (a partner key cannot be moved to another client's row).
 */
export class SecretBox {
  private readonly key: Buffer;

  constructor(masterSecret: string, purpose: string) {
    this.key = Buffer.from(hkdfSync('sha256', masterSecret, 'otp-link', purpose, 32));
  }

  seal(plaintext: Buffer | string, context = ''): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([Buffer.from([VERSION]), iv, cipher.getAuthTag(), data]);
  }

  /** Throws when the value was tampered with, sealed under another key or another context. */
  open(sealed: Buffer, context = ''): Buffer {
    if (sealed[0] !== VERSION) throw new Error('unknown sealed value version');
    const iv = sealed.subarray(1, 1 + IV_BYTES);
    const tag = sealed.subarray(1 + IV_BYTES, 1 + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', this.key, iv);
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(tag);
    const data = sealed.subarray(1 + IV_BYTES + TAG_BYTES);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  }
}
