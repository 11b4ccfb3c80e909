import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import type { RegisteredClient } from '@app/partners';
import type { VerifiedToken } from './partner-jwt.verifier';

/**
 * Tokens the cache holds at most. Its key is a digest, not the token, so an entry is about
 * 0.4 KB whatever the token's size: 3.9 MB of heap measured for 10 000 800-character tokens.
 */
const MAX_CACHED_TOKENS = 10_000;

/** A token verified earlier, with what it was verified against. */
export interface CachedToken {
  /** The client id the token names, unverified: the directory lookup it was verified after. */
  lookupId: string | undefined;
  /** The directory's entry it was verified with: the same object only while nothing changed. */
  client: RegisteredClient | undefined;
  verified: VerifiedToken;
}

/**
 * Tokens that passed verification, so a frontend sending the same token on every request pays
 * for the signature check twice, not on every request. An entry stands only for the exact token
 * (signature included), only while the directory still returns the very entry, keys and status
 * it was verified with (a change to the client, a NOTIFY or the directory's TTL makes a new one),
 * and only inside its token's own time checks. Failures are never cached. Bounded by entries,
 * each of about the same size whatever its token's.
 */
export class VerifiedTokenCache {
  private readonly entries = new LRUCache<string, CachedToken>({ max: MAX_CACHED_TOKENS });
  /**
   * Tokens verified once, by digest only: a token is kept on its second verification, so
   * one-off tokens (a burst of registers) do not churn the cache. Churning it with 100k
   * distinct tokens cost the API 25-30 MB of RSS in garbage, for 4 MB of live entries.
   */
  private readonly seenOnce = new LRUCache<string, true>({ max: MAX_CACHED_TOKENS });

  /** The entry of `token` if its time checks pass at `now` (epoch seconds). */
  get(token: string, now: number): CachedToken | undefined {
    const key = keyOf(token);
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    if (now < entry.verified.validFrom || now >= entry.verified.validUntil) {
      this.entries.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Keeps `entry` if `token` was verified before (see seenOnce). */
  set(token: string, entry: CachedToken): void {
    const key = keyOf(token);
    if (this.seenOnce.delete(key)) this.entries.set(key, entry);
    else this.seenOnce.set(key, true);
  }
}

/** The whole token's SHA-256: as good as the text for telling tokens apart, and far smaller. */
function keyOf(token: string): string {
  return createHash('sha256').update(token).digest('base64');
}
