import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * Codes at rest are HMAC-SHA256(OTP_SECRET, challengeId:code): a leaked table reveals nothing
 * without the secret, and a hash cannot be replayed onto another challenge.
 */
export class CodeHasher {
  private readonly key: Buffer;

  constructor(secret: string) {
    this.key = Buffer.from(secret, 'utf8');
  }

  hash(challengeId: string, code: string): Buffer {
    return createHmac('sha256', this.key).update(`${challengeId}:${code}`).digest();
  }

  /** Constant-time comparison. */
  matches(stored: Buffer, challengeId: string, code: string): boolean {
    const candidate = this.hash(challengeId, code);
    return stored.length === candidate.length && timingSafeEqual(stored, candidate);
  }
}
