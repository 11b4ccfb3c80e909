import {
  createHash,
  createPublicKey,
  createSecretKey,
  KeyObject,
  randomBytes,
  timingSafeEqual,
} from 'node:crypto';
import { AppError, ErrorCode } from '@app/common';
import type { KeyAlgorithm } from './entities/partner-client-key.entity';

/** 256-bit HS256 secrets: what RFC 7518 asks of an HMAC-SHA256 key. */
const HMAC_SECRET_BYTES = 32;
const API_SECRET_BYTES = 32;
/** A recognisable prefix lets secret scanners (and people) tell an otp-link API secret. */
const API_SECRET_PREFIX = 'ols_';
const MIN_RSA_BITS = 2048;
const MAX_PEM_LENGTH = 16 * 1024;

/** A new HS256 secret, as the partner will use it: a base64url string (its UTF-8 bytes are the key). */
export function newHmacSecret(): string {
  return randomBytes(HMAC_SECRET_BYTES).toString('base64url');
}

/** A short key id for the JWT `kid` header. */
export function newKid(): string {
  return randomBytes(6).toString('hex');
}

export function newApiSecret(): string {
  return API_SECRET_PREFIX + randomBytes(API_SECRET_BYTES).toString('base64url');
}

/**
 * API secrets are 256 random bits, not passwords: a plain SHA-256 cannot be reversed or
 * brute-forced, so a slow password hash would only cost CPU on every server-to-server call.
 */
export function hashApiSecret(secret: string): Buffer {
  return createHash('sha256').update(secret, 'utf8').digest();
}

export function apiSecretMatches(secret: string, hash: Buffer): boolean {
  const candidate = hashApiSecret(secret);
  return candidate.length === hash.length && timingSafeEqual(candidate, hash);
}

/** The verification key of an HS256 secret, the way partners sign with it (UTF-8 bytes). */
export function hmacKey(secret: string): KeyObject {
  return createSecretKey(Buffer.from(secret, 'utf8'));
}

function invalidKey(message: string): AppError {
  return new AppError(
    ErrorCode.ValidationFailed,
    { details: [{ field: 'publicKey', message }] },
    message,
  );
}

/**
 * Reads a partner's public key (PEM, SPKI or PKCS#1) and the algorithm it serves: RS256 for RSA
 * of at least 2048 bits, ES256 for EC P-256. A private key is refused: it must never leave the
 * partner, and keeping it here would let us sign as them.
 */
export function readPublicKey(
  pem: string,
  expected?: KeyAlgorithm,
): { key: KeyObject; algorithm: KeyAlgorithm; pem: string } {
  if (pem.length > MAX_PEM_LENGTH) throw invalidKey('public key too large');
  if (/PRIVATE KEY/.test(pem)) {
    throw invalidKey('that is a private key: give the public key (it must stay with the partner)');
  }
  let key: KeyObject;
  try {
    key = createPublicKey(pem);
  } catch {
    throw invalidKey('public key is not a readable PEM');
  }
  const algorithm = algorithmOf(key);
  if (expected && expected !== algorithm) {
    throw invalidKey(`public key is for ${algorithm}, not ${expected}`);
  }
  return { key, algorithm, pem: key.export({ type: 'spki', format: 'pem' }).toString() };
}

function algorithmOf(key: KeyObject): KeyAlgorithm {
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === 'rsa') {
    if ((details.modulusLength ?? 0) < MIN_RSA_BITS) {
      throw invalidKey(`RSA keys must have at least ${MIN_RSA_BITS} bits`);
    }
    return 'RS256';
  }
  if (key.asymmetricKeyType === 'ec' && details.namedCurve === 'prime256v1') return 'ES256';
  throw invalidKey('public key must be RSA (RS256) or EC P-256 (ES256)');
}
