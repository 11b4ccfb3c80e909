import { LRUCache } from 'lru-cache';
import type { RegisteredClient } from '@app/partners';
import type { VerifiedToken } from './partner-jwt.verifier';

/**
 * Bytes of tokens (and their entries) the cache holds at most, as estimated below: about 6 000
 * typical 450-character tokens, measured at 5 MB of heap.
 */
const MAX_CACHED_BYTES = 8 * 1024 * 1024;
/** What an entry costs besides its token's characters (the user, the record, the LRU's node). */
const ENTRY_OVERHEAD_BYTES = 512;

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
 * for the signature check once. An entry stands only for the exact token string (signature
 * included), only while the directory still returns the very entry, keys and status it was
 * verified with (a change to the client, a NOTIFY or the directory's TTL makes a new one), and
 * only inside its token's own time checks. Failures are never cached. Bounded by bytes, so a
 * flood of large valid tokens cannot grow it.
 */
export class VerifiedTokenCache {
  private readonly entries = new LRUCache<string, CachedToken>({
    maxSize: MAX_CACHED_BYTES,
    sizeCalculation: (_entry, token) => 2 * token.length + ENTRY_OVERHEAD_BYTES,
  });

  /** The entry of `token` if its time checks pass at `now` (epoch seconds). */
  get(token: string, now: number): CachedToken | undefined {
    const entry = this.entries.get(token);
    if (!entry) return undefined;
    if (now < entry.verified.validFrom || now >= entry.verified.validUntil) {
      this.entries.delete(token);
      return undefined;
    }
    return entry;
  }

  set(token: string, entry: CachedToken): void {
    this.entries.set(token, entry);
  }
}
