import { createHmac, createPublicKey, createSecretKey, generateKeyPairSync } from 'crypto';
import { sign, type Algorithm } from 'jsonwebtoken';
import { AppError, Clock, ErrorCode } from '@app/common';
import type { RegisteredClient } from '@app/partners';
import {
  extractPartnerToken,
  PartnerJwtVerifier,
  unverifiedClientId,
} from './partner-jwt.verifier';

class FakeClock extends Clock {
  constructor(private current: Date) {
    super();
  }

  now(): Date {
    return new Date(this.current);
  }

  setSeconds(epochSeconds: number): void {
    this.current = new Date(epochSeconds * 1000);
  }
}

const SECRET = 'test-partner-secret-0123456789abcdef';
const CLIENT = 'd5b2e760-1b6c-4296-a89f-1da0ffe8c414';
const IAT = 1707041592;
const EXP = 1707127992;
const NOW = IAT + 60;

// The example payload of spec §2.
const EXAMPLE = {
  sub: 'qwerty',
  user_id: 'qwerty',
  client_id: CLIENT,
  iss: CLIENT,
  third_party_client_id: CLIENT,
  third_party_client_name: 'Ludo',
  namespaced_third_party_user_id: `${CLIENT}___qwerty`,
  wallet_address: '0x4C5874998bE398BD7EA29bBb21FFf7506aDf639D',
  is_new_user: true,
  iat: IAT,
  exp: EXP,
};

const b64url = (value: unknown): string =>
  Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');

function token(
  payload: Record<string, unknown>,
  secret: string = SECRET,
  algorithm: Algorithm = 'HS256',
): string {
  // Every payload here carries its own iat (or goes through signRaw): sign() would otherwise add
  // the real Date.now(), far from the fake clock, and its noTimestamp option drops a given iat.
  return sign(payload, secret, { algorithm });
}

/** Signs hand-built header and payload segments, for payloads jsonwebtoken's sign() cannot produce. */
function signRaw(header: unknown, payload: unknown): string {
  const unsigned = `${b64url(header)}.${b64url(payload)}`;
  return `${unsigned}.${createHmac('sha256', SECRET).update(unsigned).digest('base64url')}`;
}

function without(...keys: string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...EXAMPLE };
  for (const key of keys) delete copy[key];
  return copy;
}

describe('PartnerJwtVerifier', () => {
  let clock: FakeClock;
  let verifier: PartnerJwtVerifier;

  beforeEach(() => {
    clock = new FakeClock(new Date(NOW * 1000));
    verifier = new PartnerJwtVerifier(SECRET, clock);
  });

  /** Runs verify and returns the AppError it must throw. */
  function failure(input: string | undefined): AppError {
    try {
      verifier.verify(input);
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      const appError = error as AppError;
      expect(appError.code).toBe(ErrorCode.Unauthorized);
      expect(appError.status).toBe(401);
      if (input) expect(appError.message).not.toContain(input);
      return appError;
    }
    throw new Error('verify did not throw');
  }

  const reason = (input: string | undefined): string => failure(input).message;

  describe('accepts', () => {
    it('the spec example token (namespaced id in ___ form)', () => {
      expect(verifier.verify(token(EXAMPLE))).toEqual({
        clientId: CLIENT,
        userId: 'qwerty',
        namespacedId: `${CLIENT}___qwerty`,
        walletAddress: '0x4C5874998bE398BD7EA29bBb21FFf7506aDf639D',
        clientName: 'Ludo',
      });
    });

    it('the # form of the namespaced id, and still returns the ___ form', () => {
      const user = verifier.verify(
        token({ ...EXAMPLE, namespaced_third_party_user_id: `${CLIENT}#qwerty` }),
      );
      expect(user.namespacedId).toBe(`${CLIENT}___qwerty`);
    });

    it('a token without namespaced id, wallet or client name', () => {
      const user = verifier.verify(
        token(
          without('namespaced_third_party_user_id', 'wallet_address', 'third_party_client_name'),
        ),
      );
      expect(user).toEqual({
        clientId: CLIENT,
        userId: 'qwerty',
        namespacedId: `${CLIENT}___qwerty`,
      });
      expect(Object.keys(user)).toEqual(['clientId', 'userId', 'namespacedId']);
    });

    it('the user from sub when user_id is absent', () => {
      const user = verifier.verify(
        token({ ...without('user_id', 'namespaced_third_party_user_id'), sub: 'from-sub' }),
      );
      expect(user.userId).toBe('from-sub');
      expect(user.namespacedId).toBe(`${CLIENT}___from-sub`);
    });

    it('user_id over sub when both are present', () => {
      const user = verifier.verify(
        token({ ...without('namespaced_third_party_user_id'), sub: 'x' }),
      );
      expect(user.userId).toBe('qwerty');
    });

    it('the client from client_id when third_party_client_id is absent', () => {
      const user = verifier.verify(
        token({
          ...without('third_party_client_id', 'namespaced_third_party_user_id'),
          client_id: 'other-client',
        }),
      );
      expect(user.clientId).toBe('other-client');
      expect(user.namespacedId).toBe('other-client___qwerty');
    });

    it('third_party_client_id over client_id when both are present', () => {
      const user = verifier.verify(
        token({ ...without('namespaced_third_party_user_id'), client_id: 'other-client' }),
      );
      expect(user.clientId).toBe(CLIENT);
    });

    it('null claims as absent', () => {
      const user = verifier.verify(
        token({
          ...EXAMPLE,
          user_id: null,
          wallet_address: null,
          namespaced_third_party_user_id: null,
        }),
      );
      expect(user.userId).toBe('qwerty');
      expect(user.walletAddress).toBeUndefined();
    });

    it('an empty wallet address as none', () => {
      expect(
        verifier.verify(token({ ...EXAMPLE, wallet_address: '' })).walletAddress,
      ).toBeUndefined();
    });

    it('a token without iat', () => {
      expect(verifier.verify(signRaw({ alg: 'HS256' }, without('iat'))).userId).toBe('qwerty');
    });
  });

  describe('signature and algorithm', () => {
    it('refuses a token signed with another secret', () => {
      expect(reason(token(EXAMPLE, 'another-secret-0123456789abcdef'))).toBe(
        'invalid token signature',
      );
    });

    it('refuses a tampered payload', () => {
      const [header, , signature] = token(EXAMPLE).split('.');
      const forged = `${header}.${b64url({ ...EXAMPLE, user_id: 'admin' })}.${signature}`;
      expect(reason(forged)).toBe('invalid token signature');
    });

    it('refuses an HS256 token with the signature stripped', () => {
      const [header, payload] = token(EXAMPLE).split('.');
      expect(reason(`${header}.${payload}.`)).toBe('invalid token signature');
    });

    it('refuses an unsigned alg none token', () => {
      const unsigned = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(EXAMPLE)}.`;
      expect(reason(unsigned)).toBe('unsupported token algorithm');
    });

    it('refuses alg none carrying a copied HS256 signature', () => {
      const signature = token(EXAMPLE).split('.')[2];
      const forged = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(EXAMPLE)}.${signature}`;
      expect(reason(forged)).toBe('unsupported token algorithm');
    });

    it('refuses HS512 even with the right secret', () => {
      expect(reason(token(EXAMPLE, SECRET, 'HS512'))).toBe('unsupported token algorithm');
    });

    it('refuses an RS256-signed token', () => {
      const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const rs256 = sign(EXAMPLE, privateKey, { algorithm: 'RS256' });
      expect(reason(rs256)).toBe('unsupported token algorithm');
    });

    it('refuses a header without alg', () => {
      const signature = token(EXAMPLE).split('.')[2];
      expect(reason(`${b64url({ typ: 'JWT' })}.${b64url(EXAMPLE)}.${signature}`)).toBe(
        'unsupported token algorithm',
      );
    });
  });

  describe('times', () => {
    it('accepts a token 29 s past exp (within leeway)', () => {
      clock.setSeconds(EXP + 29);
      expect(verifier.verify(token(EXAMPLE)).userId).toBe('qwerty');
    });

    it('refuses a token 31 s past exp (beyond leeway)', () => {
      clock.setSeconds(EXP + 31);
      expect(reason(token(EXAMPLE))).toBe('token expired');
    });

    it('refuses a token without exp', () => {
      expect(reason(token(without('exp')))).toBe('token has no expiry');
    });

    it('refuses a non-numeric exp', () => {
      expect(reason(signRaw({ alg: 'HS256' }, { ...EXAMPLE, exp: 'tomorrow' }))).toBe(
        'token claims invalid: exp',
      );
    });

    it('refuses an infinite exp (1e999 in the JSON)', () => {
      const json = JSON.stringify({ ...EXAMPLE, exp: 0 }).replace('"exp":0', '"exp":1e999');
      expect(reason(signRaw({ alg: 'HS256', typ: 'JWT' }, json))).toBe('token claims invalid: exp');
    });

    it('accepts nbf within the leeway', () => {
      expect(verifier.verify(token({ ...EXAMPLE, nbf: NOW + 30 })).userId).toBe('qwerty');
    });

    it('refuses nbf in the future beyond the leeway', () => {
      expect(reason(token({ ...EXAMPLE, nbf: NOW + 31 }))).toBe('token not yet valid');
    });

    it('accepts iat 30 s in the future', () => {
      expect(verifier.verify(token({ ...EXAMPLE, iat: NOW + 30 })).userId).toBe('qwerty');
    });

    it('refuses iat 31 s in the future', () => {
      expect(reason(token({ ...EXAMPLE, iat: NOW + 31 }))).toBe('token issued in the future');
    });

    it.each([
      ['iat', { ...EXAMPLE }, IAT - 30],
      ['nbf after iat', { ...EXAMPLE, nbf: IAT + 600 }, IAT + 600 - 30],
      ['nbf before iat', { ...EXAMPLE, nbf: IAT - 600 }, IAT - 30],
      ['neither iat nor nbf', without('iat'), -Infinity],
    ])('verifyToken gives the span its time checks pass in (%s)', (_case, payload, from) => {
      const signed = signRaw({ alg: 'HS256', typ: 'JWT' }, payload);
      const passesAt = (seconds: number) => {
        clock.setSeconds(seconds);
        try {
          verifier.verify(signed);
          return true;
        } catch {
          return false;
        }
      };
      clock.setSeconds(EXP);
      expect(verifier.verifyToken(signed)).toMatchObject({ validFrom: from, validUntil: EXP + 30 });
      expect([passesAt(EXP + 29), passesAt(EXP + 30)]).toEqual([true, false]);
      if (Number.isFinite(from))
        expect([passesAt(from - 1), passesAt(from)]).toEqual([false, true]);
    });

    it('refuses a non-numeric iat', () => {
      expect(reason(signRaw({ alg: 'HS256' }, { ...EXAMPLE, iat: 'now' }))).toBe(
        'token claims invalid: iat',
      );
    });
  });

  describe('claims', () => {
    it('refuses a namespaced id of another user', () => {
      expect(
        reason(token({ ...EXAMPLE, namespaced_third_party_user_id: `${CLIENT}___someone-else` })),
      ).toBe('namespaced user id does not match');
    });

    it('refuses a namespaced id of another client', () => {
      expect(reason(token({ ...EXAMPLE, namespaced_third_party_user_id: 'other#qwerty' }))).toBe(
        'namespaced user id does not match',
      );
    });

    it('refuses a namespaced id that is not a string', () => {
      expect(reason(token({ ...EXAMPLE, namespaced_third_party_user_id: 42 }))).toBe(
        'token claims invalid: namespaced_third_party_user_id',
      );
    });

    it('refuses user_id as a number', () => {
      expect(reason(token({ ...EXAMPLE, user_id: 12345 }))).toBe('token claims invalid: user_id');
    });

    it('refuses an empty user_id instead of falling back to sub', () => {
      expect(reason(token({ ...EXAMPLE, user_id: '' }))).toBe('token claims invalid: user_id');
    });

    it('refuses a token with neither user_id nor sub', () => {
      expect(reason(token(without('user_id', 'sub', 'namespaced_third_party_user_id')))).toBe(
        'token claims missing: user_id or sub',
      );
    });

    it('refuses sub as a number when user_id is absent', () => {
      expect(reason(token({ ...without('user_id'), sub: 7 }))).toBe('token claims invalid: sub');
    });

    it('refuses a token with neither third_party_client_id nor client_id', () => {
      expect(reason(token(without('third_party_client_id', 'client_id')))).toBe(
        'token claims missing: third_party_client_id or client_id',
      );
    });

    it('refuses a third_party_client_id that is not a string', () => {
      expect(reason(token({ ...EXAMPLE, third_party_client_id: ['a'] }))).toBe(
        'token claims invalid: third_party_client_id',
      );
    });

    it('refuses a client id containing the ___ separator', () => {
      expect(
        reason(
          token({
            ...without('namespaced_third_party_user_id'),
            third_party_client_id: 'a___b',
          }),
        ),
      ).toBe('token claims invalid: third_party_client_id');
    });

    it('refuses ids longer than 256 characters', () => {
      expect(
        reason(token({ ...without('namespaced_third_party_user_id'), user_id: 'u'.repeat(257) })),
      ).toBe('token claims invalid: user_id');
      const ok = verifier.verify(
        token({ ...without('namespaced_third_party_user_id'), user_id: 'u'.repeat(256) }),
      );
      expect(ok.userId).toHaveLength(256);
    });

    it('refuses a control character in an id', () => {
      expect(
        reason(token({ ...without('namespaced_third_party_user_id'), user_id: 'a\u0000b' })),
      ).toBe('token claims invalid: user_id');
    });

    it('refuses wallet_address as an object', () => {
      expect(reason(token({ ...EXAMPLE, wallet_address: { chain: 'eth' } }))).toBe(
        'token claims invalid: wallet_address',
      );
    });

    it('refuses a third_party_client_name that is too long', () => {
      expect(reason(token({ ...EXAMPLE, third_party_client_name: 'n'.repeat(257) }))).toBe(
        'token claims invalid: third_party_client_name',
      );
    });

    it('never puts claim values in the message', () => {
      const secretish = 'SECRET-LOOKING-USER-VALUE';
      const message = reason(
        token({ ...EXAMPLE, namespaced_third_party_user_id: `${CLIENT}___${secretish}` }),
      );
      expect(message).not.toContain(secretish);
      expect(message).not.toContain(CLIENT);
    });
  });

  describe('malformed input', () => {
    it('answers token missing for undefined and the empty string', () => {
      expect(reason(undefined)).toBe('token missing');
      expect(reason('')).toBe('token missing');
    });

    it('refuses a token over 8 KiB before parsing', () => {
      const huge = token({ ...EXAMPLE, padding: 'x'.repeat(9000) });
      expect(huge.length).toBeGreaterThan(8 * 1024);
      expect(reason(huge)).toBe('token too large');
    });

    it.each([
      ['garbage', 'not-a-token'],
      ['two segments', 'abc.def'],
      ['four segments', 'a.b.c.d'],
      ['dots only', '..'],
      ['spaces', 'eyJhbGciOiJIUzI1NiJ9 .e30.sig'],
      ['standard base64 characters', 'ab+c.de/f.gh=='],
      ['two joined tokens', 'a.b.c, d.e.f'],
      ['a header that is not JSON', `${b64url('{nope')}.${b64url(EXAMPLE)}.sig`],
      ['a header that is JSON but not an object', `${b64url('123')}.${b64url(EXAMPLE)}.sig`],
      ['a header that is null', `${b64url('null')}.${b64url(EXAMPLE)}.sig`],
    ])('answers token malformed for %s', (_name, input) => {
      expect(reason(input)).toBe('token malformed');
    });

    it.each([
      ['a non-JSON payload', { alg: 'HS256' }, 'just a string'],
      ['a non-JSON payload with typ JWT', { alg: 'HS256', typ: 'JWT' }, 'just a string'],
      ['a JSON array payload', { alg: 'HS256' }, '[1,2]'],
      ['a JSON null payload with typ JWT', { alg: 'HS256', typ: 'JWT' }, 'null'],
    ])('answers token malformed for a validly signed token with %s', (_name, header, payload) => {
      expect(reason(signRaw(header, payload))).toBe('token malformed');
    });

    it('never includes the token in the message, whatever the failure', () => {
      clock.setSeconds(EXP + 3600);
      const expired = token(EXAMPLE);
      for (const input of [expired, token(EXAMPLE, 'wrong-secret'), `${expired}x.y`]) {
        const message = failure(input).message;
        expect(message).not.toContain(input);
        for (const part of input.split('.')) if (part) expect(message).not.toContain(part);
      }
    });
  });

  it('refuses an empty secret at construction', () => {
    expect(() => new PartnerJwtVerifier('', clock)).toThrow('non-empty secret');
  });
});

describe('PartnerJwtVerifier with a registered client', () => {
  const clock = new FakeClock(new Date(NOW * 1000));
  const OLD_SECRET = 'old-client-secret-0123456789abcdef';
  const NEW_SECRET = 'new-client-secret-0123456789abcdef';
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

  function client(overrides: Partial<RegisteredClient> = {}): RegisteredClient {
    return {
      id: CLIENT,
      name: 'Ludo',
      status: 'active',
      allowedCountryCodes: null,
      hourlySendBudget: null,
      senderName: null,
      messageTemplate: null,
      messageTemplates: null,
      androidAppHash: null,
      keys: [
        { kid: 'old', algorithm: 'HS256', key: createSecretKey(Buffer.from(OLD_SECRET)) },
        { kid: 'new', algorithm: 'HS256', key: createSecretKey(Buffer.from(NEW_SECRET)) },
        { kid: 'ec', algorithm: 'ES256', key: ec.publicKey },
      ],
      retiredKids: new Set(['gone']),
      apiSecretHash: Buffer.alloc(32),
      ...overrides,
    };
  }

  const signed = (
    secret: string | Buffer | import('crypto').KeyObject,
    algorithm: Algorithm,
    kid?: string,
  ) => sign(EXAMPLE, secret, { algorithm, ...(kid ? { keyid: kid } : {}) });

  function reasonWith(verifier: PartnerJwtVerifier, input: string, registered?: RegisteredClient) {
    try {
      verifier.verify(input, registered);
    } catch (error) {
      expect(error).toBeInstanceOf(AppError);
      expect((error as AppError).status).toBe(401);
      return (error as AppError).message;
    }
    throw new Error('verify did not throw');
  }

  const withFallback = new PartnerJwtVerifier(SECRET, clock);
  const withoutFallback = new PartnerJwtVerifier(undefined, clock);

  it('verifies with the key the kid names, or each active key of the algorithm without a kid', () => {
    for (const input of [
      signed(OLD_SECRET, 'HS256', 'old'),
      signed(NEW_SECRET, 'HS256', 'new'),
      signed(NEW_SECRET, 'HS256'),
      signed(OLD_SECRET, 'HS256'),
      signed(ec.privateKey, 'ES256', 'ec'),
      signed(ec.privateKey, 'ES256'),
    ]) {
      const user = withoutFallback.verify(input, client());
      expect(user).toMatchObject({ clientId: CLIENT, userId: 'qwerty' });
    }
  });

  it("names the missing client claim of a registered client's token instead of a bad signature", () => {
    // Signed with the client's own key, but naming no client: the directory cannot find the
    // client, so without this check the fallback secret answered "invalid token signature".
    const noClient = sign(
      { ...without('third_party_client_id', 'client_id', 'namespaced_third_party_user_id') },
      NEW_SECRET,
      { algorithm: 'HS256', keyid: 'new' },
    );
    for (const verifier of [withFallback, withoutFallback]) {
      expect(reasonWith(verifier, noClient)).toBe(
        'token claims missing: third_party_client_id or client_id',
      );
    }
    const nullClient = sign(
      { ...EXAMPLE, third_party_client_id: null, client_id: null },
      NEW_SECRET,
    );
    expect(reasonWith(withFallback, nullClient)).toBe(
      'token claims missing: third_party_client_id or client_id',
    );
  });

  it("never uses the fallback secret for a registered client's token", () => {
    expect(reasonWith(withFallback, token(EXAMPLE), client())).toBe('invalid token signature');
  });

  it('refuses a kid naming another key, a retired key or no key at all', () => {
    expect(reasonWith(withoutFallback, signed(OLD_SECRET, 'HS256', 'new'), client())).toBe(
      'invalid token signature',
    );
    expect(reasonWith(withoutFallback, signed(OLD_SECRET, 'HS256', 'gone'), client())).toBe(
      'token key is retired',
    );
    expect(reasonWith(withoutFallback, signed(OLD_SECRET, 'HS256', 'never'), client())).toBe(
      'token key is unknown',
    );
  });

  it('refuses an algorithm the named key or the client does not use', () => {
    // HS256 signed with the EC public key's PEM: algorithm confusion.
    const pem = ec.publicKey.export({ type: 'spki', format: 'pem' });
    expect(reasonWith(withoutFallback, signed(pem, 'HS256', 'ec'), client())).toBe(
      'unsupported token algorithm',
    );
    expect(reasonWith(withoutFallback, signed(rsa.privateKey, 'RS256'), client())).toBe(
      'unsupported token algorithm',
    );
    const onlyRsa = client({
      keys: [
        {
          kid: 'rsa',
          algorithm: 'RS256',
          key: createPublicKey(rsa.publicKey.export({ type: 'spki', format: 'pem' })),
        },
      ],
    });
    expect(withoutFallback.verify(signed(rsa.privateKey, 'RS256'), onlyRsa).userId).toBe('qwerty');
    expect(reasonWith(withoutFallback, signed(SECRET, 'HS256'), onlyRsa)).toBe(
      'unsupported token algorithm',
    );
  });

  it('answers the real problem once a key verified the signature (expiry, claims)', () => {
    const expired = sign({ ...EXAMPLE, exp: NOW - 3600 }, NEW_SECRET, { algorithm: 'HS256' });
    // The old key is tried first and fails the signature; the new one verifies and finds expiry.
    expect(reasonWith(withoutFallback, expired, client())).toBe('token expired');
  });

  it('refuses a suspended client, and a client without usable keys', () => {
    expect(
      reasonWith(
        withoutFallback,
        signed(NEW_SECRET, 'HS256', 'new'),
        client({ status: 'suspended' }),
      ),
    ).toBe('token client is suspended');
    expect(reasonWith(withoutFallback, signed(NEW_SECRET, 'HS256'), client({ keys: [] }))).toBe(
      'unsupported token algorithm',
    );
  });

  it('refuses unregistered clients when the fallback is off', () => {
    expect(reasonWith(withoutFallback, token(EXAMPLE))).toBe('token client is not registered');
    expect(reasonWith(withoutFallback, 'garbage')).toBe('token malformed');
  });

  it('refuses a kid that is not a short string', () => {
    for (const kid of [7, '', 'k'.repeat(65)]) {
      const input = signRaw({ alg: 'HS256', kid }, EXAMPLE);
      expect(reasonWith(withFallback, input)).toBe('token malformed');
    }
  });
});

describe('unverifiedClientId', () => {
  it('reads third_party_client_id, else client_id, without verifying anything', () => {
    expect(unverifiedClientId(token(EXAMPLE, 'any-secret'))).toBe(CLIENT);
    expect(unverifiedClientId(token({ ...without('third_party_client_id') }, 'x'))).toBe(CLIENT);
    expect(unverifiedClientId(signRaw({ alg: 'none' }, { client_id: 'abc' }))).toBe('abc');
  });

  it('gives nothing for ids the registry could not hold, or tokens it cannot read', () => {
    for (const claims of [
      { client_id: 'a\u0000b' },
      { client_id: 'a b' },
      { client_id: 'a___b' },
      { client_id: 'c'.repeat(129) },
      { client_id: 42 },
      { client_id: '' },
      {},
    ]) {
      expect(unverifiedClientId(signRaw({ alg: 'HS256' }, claims))).toBeUndefined();
    }
    for (const input of [
      undefined,
      '',
      'a.b',
      `${b64url({})}.${b64url('[1]')}.x`,
      `x.${'e'.repeat(9000)}.y`,
    ]) {
      expect(unverifiedClientId(input)).toBeUndefined();
    }
  });
});

describe('extractPartnerToken', () => {
  it('reads user-jwt-token', () => {
    expect(extractPartnerToken({ 'user-jwt-token': ' a.b.c ' })).toBe('a.b.c');
  });

  it('prefers user-jwt-token over Authorization', () => {
    expect(extractPartnerToken({ 'user-jwt-token': 'a.b.c', authorization: 'Bearer d.e.f' })).toBe(
      'a.b.c',
    );
  });

  it.each(['Bearer d.e.f', 'bearer d.e.f', 'BEARER   d.e.f ', 'Bearer\td.e.f'])(
    'reads Authorization %j',
    (authorization) => {
      expect(extractPartnerToken({ authorization })).toBe('d.e.f');
    },
  );

  it('falls back to Authorization when user-jwt-token is blank', () => {
    expect(extractPartnerToken({ 'user-jwt-token': '  ', authorization: 'Bearer d.e.f' })).toBe(
      'd.e.f',
    );
  });

  it.each([
    {},
    { authorization: 'Basic dXNlcjpwYXNz' },
    { authorization: 'Bearer' },
    { authorization: 'Bearer   ' },
    { authorization: 'Bearerd.e.f' },
    { 'user-jwt-token': '' },
  ])('returns undefined for %j', (headers) => {
    expect(extractPartnerToken(headers)).toBeUndefined();
  });

  it('throws token malformed for a duplicated header delivered as an array', () => {
    for (const headers of [
      { 'user-jwt-token': ['a.b.c', 'd.e.f'] },
      { authorization: ['Bearer a.b.c', 'Bearer d.e.f'] },
    ]) {
      let caught: unknown;
      try {
        extractPartnerToken(headers);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(AppError);
      expect((caught as AppError).code).toBe(ErrorCode.Unauthorized);
      expect((caught as AppError).message).toBe('token malformed');
    }
  });
});
