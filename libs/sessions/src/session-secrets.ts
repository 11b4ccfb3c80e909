import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/** 256 bits: an opaque token nobody can guess, so its unkeyed SHA-256 is safe to store. */
const TOKEN_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEAL_INFO = 'otp-link refresh successor v1';
const OPAQUE_TOKEN = /^[A-Za-z0-9_-]{43}$/;

/** A new opaque token (refresh or device): 32 random bytes, base64url (43 characters). */
export function newOpaqueToken(): string {
  return randomBytes(TOKEN_BYTES).toString('base64url');
}

/** Whether a presented value has the shape of one of our opaque tokens (before any lookup). */
export function isOpaqueToken(value: unknown): value is string {
  return typeof value === 'string' && OPAQUE_TOKEN.test(value);
}

/** What the database keeps of an opaque token. */
export function tokenHash(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function sealingKey(predecessor: string): Buffer {
  return Buffer.from(hkdfSync('sha256', predecessor, Buffer.alloc(0), SEAL_INFO, 32));
}

/**
 * Seals what a refresh token was rotated to under a key derived from that token: the database
 * holds it, but only the holder of the used token can read it back (a repeat in the grace
 * window). AES-256-GCM, `iv | tag | ciphertext`.
 */
export function sealSuccessor(predecessor: string, successor: string): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', sealingKey(predecessor), iv);
  const body = Buffer.concat([cipher.update(successor, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The successor sealed under `predecessor`; throws when it was sealed under another token. */
export function openSuccessor(predecessor: string, sealed: Buffer): string {
  const iv = sealed.subarray(0, IV_BYTES);
  const tag = sealed.subarray(IV_BYTES, IV_BYTES + TAG_BYTES);
  const decipher = createDecipheriv('aes-256-gcm', sealingKey(predecessor), iv);
  decipher.setAuthTag(tag);
  return Buffer.concat([
    decipher.update(sealed.subarray(IV_BYTES + TAG_BYTES)),
    decipher.final(),
  ]).toString('utf8');
}
