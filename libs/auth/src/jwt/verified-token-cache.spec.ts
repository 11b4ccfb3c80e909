import type { RegisteredClient } from '@app/partners';
import { type CachedToken, VerifiedTokenCache } from './verified-token-cache';

function entry(validFrom: number, validUntil: number, client?: RegisteredClient): CachedToken {
  return {
    lookupId: client?.id,
    client,
    verified: {
      user: { clientId: 'c', userId: 'u', namespacedId: 'c___u' },
      validFrom,
      validUntil,
    },
  };
}

/** A token verified twice, which the cache keeps. */
function keep(cache: VerifiedTokenCache, token: string, cached: CachedToken): void {
  cache.set(token, cached);
  cache.set(token, cached);
}

describe('VerifiedTokenCache', () => {
  it('gives an entry back only inside its validity, and forgets it once outside', () => {
    const cache = new VerifiedTokenCache();
    const cached = entry(100, 200);
    keep(cache, 'a.b.c', cached);
    expect(cache.get('a.b.c', 100)).toBe(cached);
    expect(cache.get('a.b.c', 199)).toBe(cached);
    expect(cache.get('a.b.c', 99)).toBeUndefined();
    // Dropped when found out of time, even if the clock went back afterwards.
    expect(cache.get('a.b.c', 150)).toBeUndefined();
    keep(cache, 'a.b.c', cached);
    expect(cache.get('a.b.c', 200)).toBeUndefined();
    expect(cache.get('a.b.c', 150)).toBeUndefined();
  });

  it('matches the whole token text only', () => {
    const cache = new VerifiedTokenCache();
    keep(cache, 'a.b.c', entry(0, 10));
    for (const other of ['a.b.', 'a.b.cc', 'a.b.C', ' a.b.c']) {
      expect(cache.get(other, 5)).toBeUndefined();
    }
  });

  it('keeps a token from its second verification on, so one-off tokens never enter', () => {
    const cache = new VerifiedTokenCache();
    cache.set('once', entry(0, 10));
    expect(cache.get('once', 5)).toBeUndefined();
    cache.set('once', entry(0, 10));
    expect(cache.get('once', 5)).toBeDefined();
    // A flood of one-off tokens does not push a kept one out.
    for (let i = 0; i < 20_000; i++) cache.set(`one-off.${i}`, entry(0, 10));
    expect(cache.get('once', 5)).toBeDefined();
  });

  it('is bounded: past 10 000 tokens the least recently used goes first', () => {
    const cache = new VerifiedTokenCache();
    keep(cache, 'first', entry(0, 10));
    keep(cache, 'second', entry(0, 10));
    for (let i = 0; i < 9_998; i++) keep(cache, `token.${i}`, entry(0, 10));
    expect(cache.get('first', 5)).toBeDefined(); // used: now the most recent
    keep(cache, 'one more', entry(0, 10));
    expect(cache.get('second', 5)).toBeUndefined();
    expect(cache.get('first', 5)).toBeDefined();
    expect(cache.get('token.0', 5)).toBeDefined();
  });
});
