import { createHmac, createSign, generateKeyPairSync, KeyObject, randomUUID } from 'node:crypto';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { PartnerJwtStrategy } from '@app/auth';
import { partnerTokenClaims } from '@app/partners';
import { DEV_PARTNER_JWT_SECRET } from '@app/config';
import { lastCodeFor, OtpClient, sentMessages, uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

/*
 * Hand-crafted partner tokens (spec §2) against register and linked-mobile-number. Every refusal
 * is exactly {statusCode: 401, error: 'UN_AUTHORIZED', message}, never echoes the token or its
 * signature, leaves nothing behind and comes back quickly.
 */

const REGISTER = '/fe/users/auth/otp/register';
const LINKED = '/fe/users/account/linked-mobile-number';
const REFUSAL_BOUND_MS = 250;
const YEAR_9999 = 253_402_300_799;

type Json = Record<string, unknown>;

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  body: unknown;
  ms: number;
}

const b64 = (part: unknown): string =>
  Buffer.from(typeof part === 'string' ? part : JSON.stringify(part)).toString('base64url');

/** header.payload signed with HMAC-SHA256 under `secret`, whatever the header claims. */
function hmacToken(header: Json, payload: Json | string, secret: string = DEV_PARTNER_JWT_SECRET) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/** header.payload signed with an asymmetric key (RS256, or ES256 in JOSE's r||s form). */
function keyToken(header: Json, payload: Json, key: KeyObject): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signer = createSign('SHA256').update(input);
  const signature =
    key.asymmetricKeyType === 'ec'
      ? signer.sign({ key, dsaEncoding: 'ieee-p1363' })
      : signer.sign(key);
  return `${input}.${signature.toString('base64url')}`;
}

const unsigned = (header: Json, payload: Json) => `${b64(header)}.${b64(payload)}.`;

const nowSeconds = () => Math.floor(Date.now() / 1000);

/** Claims of a well-formed token for a fresh partner user. */
function claims(extra: Json = {}): Json {
  const clientId = randomUUID();
  const userId = `user-${randomUUID().slice(0, 8)}`;
  return {
    ...partnerTokenClaims({ clientId, userId, clientName: 'Ludo' }),
    iat: nowSeconds(),
    exp: nowSeconds() + 3600,
    ...extra,
  };
}

const HS256 = { alg: 'HS256', typ: 'JWT' };
const valid = (extra: Json = {}) => hmacToken(HS256, claims(extra));

/** A loopback server standing in for a key host a token might name; it records every call. */
class KeyHost {
  readonly requests: string[] = [];
  private server?: Server;
  url = '';

  constructor(private readonly jwks: unknown) {}

  async start(): Promise<void> {
    const server = createServer((req, res) => {
      this.requests.push(`${req.method} ${req.url}`);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(req.url?.startsWith('/jwks') ? this.jwks : { key: KEY_HOST_SECRET }));
    });
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** What the key host would hand out as an HMAC key. */
const KEY_HOST_SECRET = 'attacker-controlled-hmac-key';

describe('JWT attacks on register and linked-mobile-number', () => {
  let t: TestApp;
  let keyHost: KeyHost;
  let rsa: { privateKey: KeyObject; publicKey: KeyObject; pem: string };
  let ec: KeyObject;

  beforeAll(async () => {
    const pair = generateKeyPairSync('rsa', { modulusLength: 2048 });
    rsa = {
      ...pair,
      pem: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    };
    ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    keyHost = new KeyHost({
      keys: [{ ...rsa.publicKey.export({ format: 'jwk' }), kid: 'attacker', alg: 'RS256' }],
    });
    await keyHost.start();
    t = await startTestApp();
  });

  afterAll(async () => {
    await t?.close();
    await keyHost?.close();
  });

  /** Real HTTP through node:http (so header lists can be sent as they are), timed. */
  function call(
    method: string,
    path: string,
    headers: Record<string, string | string[]>,
    body?: string,
  ): Promise<Answer> {
    return new Promise((resolve, reject) => {
      const started = performance.now();
      const req = request(
        `${t.url}${path}`,
        {
          method,
          agent: false,
          headers: body ? { ...headers, 'content-type': 'application/json' } : headers,
          timeout: 5_000,
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () => {
            let parsed: unknown = text;
            try {
              parsed = JSON.parse(text);
            } catch {
              // keep the text
            }
            const ms = performance.now() - started;
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed, ms });
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in 5 s`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  const TARGETS = [
    {
      target: 'linked-mobile-number',
      send: (headers: Record<string, string | string[]>) => call('GET', LINKED, headers),
    },
    {
      target: 'register',
      send: (headers: Record<string, string | string[]>) =>
        call(
          'POST',
          REGISTER,
          headers,
          JSON.stringify({ phone_number: uniquePhone().national, countryCode: '+91' }),
        ),
    },
  ];

  async function footprint(): Promise<string> {
    const [row] = await t.dataSource.query<Json[]>(
      `SELECT (SELECT count(*) FROM otp_challenges)::int AS challenges,
              (SELECT count(*) FROM otp_sends)::int AS sends,
              (SELECT count(*) FROM third_party_users)::int AS users`,
    );
    return JSON.stringify({ ...row, messages: sentMessages(t.messagesFile).length });
  }

  /** The one 401 body of the contract; never the token, never its signature. */
  function expectRefused(res: Answer, token: string | undefined, reason: RegExp): void {
    expect(res.status).toBe(401);
    expect(res.body).toEqual({
      statusCode: 401,
      error: 'UN_AUTHORIZED',
      message: expect.stringMatching(reason),
    });
    if (token) {
      expect(res.text).not.toContain(token);
      const signature = token.split('.')[2];
      if (signature) expect(res.text).not.toContain(signature);
    }
    expect(res.ms).toBeLessThan(REFUSAL_BOUND_MS);
  }

  /** [case, token, what the message says]. Tokens are made when the test runs. */
  const ATTACKS: Array<[string, () => string, RegExp]> = [
    [
      'alg none, unsigned, with the trailing dot',
      () => unsigned({ alg: 'none' }, claims()),
      /algorithm/,
    ],
    [
      'alg none, unsigned, without the trailing dot',
      () => unsigned({ alg: 'none' }, claims()).slice(0, -1),
      /malformed/,
    ],
    [
      'alg none carrying a valid HS256 signature',
      () => {
        const payload = claims();
        const [, , signature] = hmacToken(HS256, payload).split('.');
        return `${unsigned({ alg: 'none', typ: 'JWT' }, payload)}${signature}`;
      },
      /algorithm/,
    ],
    ['alg "None"', () => unsigned({ alg: 'None' }, claims()), /algorithm/],
    ['alg "NONE", HMAC-signed', () => hmacToken({ alg: 'NONE' }, claims()), /algorithm/],
    ['no alg at all, HMAC-signed', () => hmacToken({ typ: 'JWT' }, claims()), /algorithm/],
    [
      'alg "hs256" (wrong case), HMAC-signed',
      () => hmacToken({ alg: 'hs256' }, claims()),
      /algorithm/,
    ],
    [
      'RS256 header, HMAC-signed with the PEM public key as the secret',
      () => hmacToken({ alg: 'RS256', typ: 'JWT' }, claims(), rsa.pem),
      /algorithm/,
    ],
    [
      'HS256 header, HMAC-signed with the PEM public key as the secret',
      () => hmacToken(HS256, claims(), rsa.pem),
      /signature/,
    ],
    [
      'a real RS256 token from a generated key pair',
      () => keyToken({ alg: 'RS256', typ: 'JWT' }, claims(), rsa.privateKey),
      /algorithm/,
    ],
    [
      'a real ES256 token from a generated key pair',
      () => keyToken({ alg: 'ES256', typ: 'JWT' }, claims(), ec),
      /algorithm/,
    ],
    [
      'kid naming a file, signed with an empty secret',
      () => hmacToken({ ...HS256, kid: '../../../../../../dev/null' }, claims(), ''),
      /signature/,
    ],
    [
      'kid naming the key host, signed with the key it serves',
      () => hmacToken({ ...HS256, kid: `${keyHost.url}/key` }, claims(), KEY_HOST_SECRET),
      /signature/,
    ],
    [
      'jku naming the key host, RS256-signed with the key it serves',
      () =>
        keyToken(
          { alg: 'RS256', kid: 'attacker', jku: `${keyHost.url}/jwks.json` },
          claims(),
          rsa.privateKey,
        ),
      /algorithm/,
    ],
    [
      'jku naming the key host, HS256-signed with the key it serves',
      () => hmacToken({ ...HS256, jku: `${keyHost.url}/jwks.json` }, claims(), KEY_HOST_SECRET),
      /signature/,
    ],
    [
      'x5u naming the key host, RS256-signed',
      () => keyToken({ alg: 'RS256', x5u: `${keyHost.url}/cert.pem` }, claims(), rsa.privateKey),
      /algorithm/,
    ],
    [
      'jwk header embedding the attacker key, RS256-signed',
      () =>
        keyToken(
          { alg: 'RS256', jwk: rsa.publicKey.export({ format: 'jwk' }) },
          claims(),
          rsa.privateKey,
        ),
      /algorithm/,
    ],
    [
      'exp in year 9999 and iat 40 s in the future',
      () => valid({ iat: nowSeconds() + 40, exp: YEAR_9999 }),
      /future/,
    ],
    [
      'exp in year 9999 and iat a year in the future',
      () => valid({ iat: nowSeconds() + 365 * 86_400, exp: YEAR_9999 }),
      /future/,
    ],
    ['nbf 40 s in the future', () => valid({ nbf: nowSeconds() + 40 }), /not yet valid/],
    [
      'nbf a day in the future, exp in year 9999',
      () => valid({ nbf: nowSeconds() + 86_400, exp: YEAR_9999 }),
      /not yet valid/,
    ],
    [
      'exp 1e999 (Infinity in JSON)',
      () => {
        const json = JSON.stringify(claims({ exp: 0 })).replace('"exp":0', '"exp":1e999');
        return hmacToken(HS256, json);
      },
      /exp/,
    ],
    ['exp as a string', () => valid({ exp: String(nowSeconds() + 3600) }), /claims invalid: exp/],
    ['exp null', () => valid({ exp: null }), /exp/],
    ['nbf as a string', () => valid({ nbf: String(nowSeconds()) }), /claims invalid: nbf/],
    ['iat as a string', () => valid({ iat: String(nowSeconds()) }), /claims invalid: iat/],
    ['user_id as a number', () => valid({ user_id: 42 }), /claims invalid: user_id/],
    ['user_id as an object', () => valid({ user_id: { id: 'u' } }), /claims invalid: user_id/],
    ['user_id as an array', () => valid({ user_id: ['u'] }), /claims invalid: user_id/],
    [
      'sub as a number, no user_id',
      () => valid({ sub: 7, user_id: undefined, namespaced_third_party_user_id: undefined }),
      /claims invalid: sub/,
    ],
    [
      'third_party_client_id as a boolean',
      () => valid({ third_party_client_id: true }),
      /claims invalid: third_party_client_id/,
    ],
    [
      'client_id as a boolean, no third_party_client_id',
      () =>
        valid({
          client_id: false,
          third_party_client_id: undefined,
          namespaced_third_party_user_id: undefined,
        }),
      /claims invalid: client_id/,
    ],
    [
      'namespaced_third_party_user_id as a number',
      () => valid({ namespaced_third_party_user_id: 1 }),
      /namespaced/,
    ],
    [
      "client A's token whose namespaced id names client B",
      () => {
        const payload = claims();
        return hmacToken(HS256, {
          ...payload,
          namespaced_third_party_user_id: `${randomUUID()}___${String(payload.user_id)}`,
        });
      },
      /namespaced/,
    ],
    [
      "client A's token whose namespaced id names client B (# form)",
      () => {
        const payload = claims();
        return hmacToken(HS256, {
          ...payload,
          namespaced_third_party_user_id: `${randomUUID()}#${String(payload.user_id)}`,
        });
      },
      /namespaced/,
    ],
    [
      'client_id B, third_party_client_id A, namespaced id naming B',
      () => {
        const payload = claims();
        const clientB = randomUUID();
        return hmacToken(HS256, {
          ...payload,
          client_id: clientB,
          iss: clientB,
          namespaced_third_party_user_id: `${clientB}___${String(payload.user_id)}`,
        });
      },
      /namespaced/,
    ],
    ['a correctly signed 9 KB token', () => valid({ padding: 'x'.repeat(9 * 1024) }), /too large/],
  ];

  it.each(
    TARGETS.flatMap(({ target, send }) =>
      ATTACKS.map(([attack, make, reason]) => ({ target, attack, send, make, reason })),
    ),
  )('$target: $attack → 401', async ({ send, make, reason }) => {
    const token = make();
    const before = await footprint();
    const carriers: Array<Record<string, string>> = [
      { 'user-jwt-token': token },
      { authorization: `Bearer ${token}` },
    ];
    for (const headers of carriers) expectRefused(await send(headers), token, reason);
    expect(await footprint()).toBe(before);
  });

  /** A correctly signed token exactly `length` characters long. */
  function tokenOfLength(length: number): string {
    for (const header of [HS256, { alg: 'HS256' }, { alg: 'HS256', typ: 'at+jwt' }]) {
      const payload = claims({ padding: '' });
      // Base64url turns 3 bytes into 4 characters: start just below the padding that fits.
      const start = Math.max(
        0,
        Math.floor(((length - hmacToken(header, payload).length) * 3) / 4) - 8,
      );
      for (let pad = start; pad < length; pad++) {
        payload.padding = 'x'.repeat(pad);
        const token = hmacToken(header, payload);
        if (token.length === length) return token;
        if (token.length > length) break;
      }
    }
    throw new Error(`no token of exactly ${length} characters`);
  }

  it.each(TARGETS)(
    '$target: a signed token of exactly 8 KiB is read; one character more is too large',
    async ({ send, target }) => {
      const limit = tokenOfLength(8 * 1024);
      const accepted = await send({ 'user-jwt-token': limit });
      expect(accepted.status).toBe(target === 'register' ? 200 : 404);
      expectRefused(
        await send({ 'user-jwt-token': tokenOfLength(8 * 1024 + 1) }),
        undefined,
        /too large/,
      );
    },
  );

  it.each(TARGETS)(
    '$target: a kid or jku does not pick the key: signed with the partner secret, it verifies',
    async ({ send, target }) => {
      const token = hmacToken(
        { ...HS256, kid: `${keyHost.url}/key`, jku: `${keyHost.url}/jwks.json` },
        claims(),
      );
      const res = await send({ 'user-jwt-token': token });
      expect(res.status).toBe(target === 'register' ? 200 : 404);
    },
  );

  describe('duplicate token headers (node:http sends each as its own line)', () => {
    it.each(TARGETS)(
      '$target: two user-jwt-token headers → 401, whichever is valid',
      async ({ send }) => {
        const good = valid();
        const forged = hmacToken(HS256, claims(), 'not-the-partner-secret');
        const before = await footprint();
        for (const pair of [
          [good, good],
          [good, forged],
          [forged, good],
        ]) {
          expectRefused(await send({ 'user-jwt-token': pair }), good, /malformed/);
        }
        expect(await footprint()).toBe(before);
      },
    );

    // Node keeps the first Authorization header and drops the others (it does so for every
    // header that cannot be a list), so the app never sees the second token. Whatever the
    // product decides for that, the request must never act as the later token's user.
    it('two Authorization headers: never a 5xx, and never the second token’s user', async () => {
      const linkedUser = claims();
      const linkedToken = hmacToken(HS256, linkedUser);
      const phone = uniquePhone();
      const app = new OtpClient(t, linkedToken);
      expect((await app.register(phone.national)).status).toBe(200);
      const sent = lastCodeFor(t.messagesFile, phone.e164);
      expect((await app.verify(phone.national, sent.authCode, sent.code)).status).toBe(200);
      const unlinkedToken = valid();

      const firstLinked = await call('GET', LINKED, {
        authorization: [`Bearer ${linkedToken}`, `Bearer ${unlinkedToken}`],
      });
      expect([200, 401]).toContain(firstLinked.status);
      if (firstLinked.status === 200) {
        expect(firstLinked.body).toMatchObject({ UserID: linkedUser.user_id });
      }
      const firstUnlinked = await call('GET', LINKED, {
        authorization: [`Bearer ${unlinkedToken}`, `Bearer ${linkedToken}`],
      });
      expect([401, 404]).toContain(firstUnlinked.status);
    });
  });

  describe('a 1 MB token header', () => {
    interface RawAnswer {
      status: number;
      head: string;
      body: string;
      error?: string;
      closed: boolean;
      ms: number;
    }

    /** Writes the request on a raw socket and reads until the server closes it. */
    function rawRequest(text: string): Promise<RawAnswer> {
      const { port } = new URL(t.url);
      return new Promise((resolve) => {
        const started = performance.now();
        const socket = connect({ host: '127.0.0.1', port: Number(port) });
        let received = '';
        let error: string | undefined;
        let closed = false;
        socket.setTimeout(5_000, () => socket.destroy());
        socket.on('data', (chunk: Buffer) => (received += chunk.toString('latin1')));
        socket.on('error', (e: NodeJS.ErrnoException) => (error = e.code ?? e.message));
        socket.on('end', () => (closed = true));
        socket.on('close', () => {
          const [head, body = ''] = received.split('\r\n\r\n');
          const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
          resolve({ status, head, body, error, closed, ms: performance.now() - started });
        });
        socket.write(text, 'latin1');
      });
    }

    const hugeRequest = () => {
      const token = valid({ padding: 'x'.repeat(1024 * 1024) });
      return {
        token,
        text: `GET ${LINKED} HTTP/1.1\r\nHost: 127.0.0.1\r\nuser-jwt-token: ${token}\r\n\r\n`,
      };
    };

    it('is refused by the HTTP parser with a 4xx, and the server closes the connection', async () => {
      const { token, text } = hugeRequest();
      const answer = await rawRequest(text);
      expect([400, 401, 431]).toContain(answer.status);
      expect(answer.closed).toBe(true);
      expect(answer.error).toBeUndefined();
      expect(answer.ms).toBeLessThan(REFUSAL_BOUND_MS);
      expect(answer.body).not.toContain(token.split('.')[2]);
      expect(answer.body.length).toBeLessThan(1024);
      // The app goes on serving.
      expect((await call('GET', LINKED, { 'user-jwt-token': valid() })).status).toBe(404);
    });

    // A custom clientErrorHandler answers even what Node's parser refuses in the contract shape.
    it('is answered in the contract’s error shape', async () => {
      const answer = await rawRequest(hugeRequest().text);
      expect(JSON.parse(answer.body)).toEqual({
        statusCode: answer.status,
        error: expect.stringMatching(/^[A-Z_]+$/),
        message: expect.any(String),
      });
    });
  });

  describe('claims the database cannot hold', () => {
    // Claims are bounded by the columns that store them (client ids: 128 characters).
    it('a correctly signed token with a 129-character client id → not 500', async () => {
      const clientId = 'c'.repeat(129);
      const token = valid({
        client_id: clientId,
        third_party_client_id: clientId,
        namespaced_third_party_user_id: undefined,
      });
      const res = await TARGETS[1].send({ 'user-jwt-token': token });
      expect(res.status).toBeLessThan(500);
    });

    it('a correctly signed token with a 128-character client id registers', async () => {
      const clientId = 'c'.repeat(128);
      const token = valid({
        client_id: clientId,
        third_party_client_id: clientId,
        namespaced_third_party_user_id: undefined,
      });
      expect((await TARGETS[1].send({ 'user-jwt-token': token })).status).toBe(200);
    });

    // A JSON "\ud800" escape decodes to a lone surrogate, which PostgreSQL cannot store: refused.
    it.each(['user_id', 'third_party_client_id'])(
      'a correctly signed token whose %s holds a lone surrogate → not 500',
      async (claim) => {
        const payload = claims({ namespaced_third_party_user_id: undefined });
        payload[claim] = `${String(payload[claim])}\ud800`;
        const res = await TARGETS[1].send({ 'user-jwt-token': hmacToken(HS256, payload) });
        expect(res.status).toBeLessThan(500);
      },
    );
  });

  // A token that passed once is not verified again (VerifiedTokenCache); these are the checks
  // that must still hold for it on every later request.
  describe('a token accepted before', () => {
    const linked = (token: string) => TARGETS[0].send({ 'user-jwt-token': token });
    const serverNow = () => Math.floor(t.clock.now().getTime() / 1000);

    it('skips passport-jwt: verified on its first two requests only (kept on its second)', async () => {
      const validate = jest.spyOn(t.app.get(PartnerJwtStrategy), 'validate');
      try {
        const token = valid();
        for (let i = 0; i < 5; i++) expect((await linked(token)).status).toBe(404);
        expect(validate).toHaveBeenCalledTimes(2);
      } finally {
        validate.mockRestore();
      }
    });

    it('expires on time: refused once exp (+ leeway) has passed on the server clock', async () => {
      const token = valid({ iat: serverNow(), exp: serverNow() + 5 });
      expect((await linked(token)).status).toBe(404);
      expect((await linked(token)).status).toBe(404);
      t.clock.advance(5 + 31);
      expectRefused(await linked(token), token, /^token expired$/);
    });

    it('stands for its exact text only: the same claims with a changed signature are refused', async () => {
      const token = valid();
      expect((await linked(token)).status).toBe(404);
      const [head, body, signature] = token.split('.');
      const flipped = `${signature[0] === 'A' ? 'B' : 'A'}${signature.slice(1)}`;
      for (const forged of [
        `${head}.${body}.${flipped}`,
        `${head}.${body}.`,
        `${head}.${body}.${signature}A`,
        hmacToken(HS256, JSON.parse(Buffer.from(body, 'base64url').toString()), 'other-key'),
      ]) {
        expect((await linked(forged)).status).toBe(401);
      }
      expect((await linked(token)).status).toBe(404);
    });

    it('a refusal is not remembered: a token not yet valid is accepted once it is', async () => {
      const token = valid({ iat: serverNow(), nbf: serverNow() + 120 });
      expectRefused(await linked(token), token, /^token not yet valid$/);
      t.clock.advance(120 - 30);
      expect((await linked(token)).status).toBe(404);
    });
  });

  it('the key host named by kid, jku and x5u was never called', async () => {
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(keyHost.requests).toEqual([]);
  });
});
