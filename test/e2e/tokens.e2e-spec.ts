import { generateKeyPairSync, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT, importPKCS8 } from 'jose';
import jwt from 'jsonwebtoken';
import { AccessTokens, InvalidAccessToken, PublicJwk } from '@app/sessions';
import { startTestApp, TestApp } from '../support/test-app';
import { e2eDatabase } from '../support/test-database';

const newPem = () =>
  generateKeyPairSync('ec', { namedCurve: 'prime256v1' })
    .privateKey.export({ type: 'pkcs8', format: 'pem' })
    .toString();

async function jwks(app: TestApp): Promise<{ response: Response; keys: PublicJwk[] }> {
  const response = await fetch(`${app.url}/.well-known/jwks.json`);
  const body = (await response.json()) as { keys: PublicJwk[] };
  return { response, keys: body.keys };
}

function request(clientId = 'app-one', phoneUserId = randomUUID()) {
  return { sessionId: randomUUID(), clientId, phoneUserId, phoneE164: '+919876543219' };
}

/** Our ES256 tokens, verified by an independent JOSE library against the published JWKS. */
describe('token keys and access tokens', () => {
  describe('with the development key', () => {
    let app: TestApp;
    let tokens: AccessTokens;

    beforeAll(async () => {
      app = await startTestApp({ PUBLIC_URL: 'https://otp.example.test/' });
      tokens = app.app.get(AccessTokens);
    });
    afterAll(() => app.close());

    it('publishes one P-256 key, cacheable, named by its RFC 7638 thumbprint', async () => {
      const { response, keys } = await jwks(app);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('public, max-age=300');
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(keys).toEqual([
        {
          kty: 'EC',
          crv: 'P-256',
          x: expect.any(String) as string,
          y: expect.any(String) as string,
          kid: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/) as string,
          use: 'sig',
          alg: 'ES256',
        },
      ]);
      expect(JSON.stringify(keys)).not.toMatch(/"d"/);
    });

    it('signs access tokens that jose verifies with the JWKS, with the contract claims', async () => {
      const { keys } = await jwks(app);
      const asked = request();
      const { token } = await tokens.issue(asked);
      const header = decodeProtectedHeader(token);
      expect(header).toEqual({ alg: 'ES256', typ: 'at+jwt', kid: keys[0].kid });
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), {
        issuer: 'https://otp.example.test',
        audience: 'app-one',
        algorithms: ['ES256'],
        typ: 'at+jwt',
        currentDate: app.clock.now(),
      });
      expect(payload).toEqual({
        iss: 'https://otp.example.test',
        aud: 'app-one',
        sub: tokens.pairwiseSubject('app-one', asked.phoneUserId),
        sid: asked.sessionId,
        jti: expect.any(String) as string,
        iat: expect.any(Number) as number,
        exp: (payload.iat as number) + 900,
        phone_number: '+919876543219',
        phone_number_verified: true,
      });
      expect(await tokens.verify(token, 'app-one')).toMatchObject({ sid: asked.sessionId });
    });

    it('gives each client its own subject for one person', () => {
      const person = randomUUID();
      const one = tokens.pairwiseSubject('app-one', person);
      expect(one).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(tokens.pairwiseSubject('app-one', person)).toBe(one);
      expect(tokens.pairwiseSubject('app-two', person)).not.toBe(one);
      expect(tokens.pairwiseSubject('app-one', randomUUID())).not.toBe(one);
    });

    it('refuses forged, confused, foreign and expired tokens', async () => {
      const { keys } = await jwks(app);
      const { token, claims } = await tokens.issue(request());
      const [head, body, signature] = token.split('.');
      const encode = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
      const publicPem = (await import('node:crypto'))
        .createPublicKey({
          key: keys[0] as unknown as import('node:crypto').JsonWebKey,
          format: 'jwk',
        })
        .export({ type: 'spki', format: 'pem' })
        .toString();
      const attacks: Record<string, unknown> = {
        'alg none': `${encode({ alg: 'none', typ: 'at+jwt', kid: keys[0].kid })}.${body}.`,
        'HS256 with the public key as secret': jwt.sign(claims, publicPem, {
          algorithm: 'HS256',
          header: { alg: 'HS256', typ: 'at+jwt', kid: keys[0].kid },
        }),
        'another key under our kid': await new SignJWT({ ...claims })
          .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: keys[0].kid })
          .sign(await importPKCS8(newPem(), 'ES256')),
        'an unknown kid': `${encode({ alg: 'ES256', typ: 'at+jwt', kid: 'nope' })}.${body}.${signature}`,
        'another typ': `${encode({ alg: 'ES256', typ: 'JWT', kid: keys[0].kid })}.${body}.${signature}`,
        'a changed payload': `${head}.${encode({ ...claims, sid: randomUUID() })}.${signature}`,
        'no signature': `${head}.${body}.`,
        garbage: 'not.a.token',
        oversized: `${head}.${'a'.repeat(5000)}.${signature}`,
        'not a string': { token },
        empty: '',
      };
      for (const [name, forged] of Object.entries(attacks)) {
        await expect(
          tokens.verify(forged, 'app-one').then(
            () => `${name}: accepted`,
            (error: unknown) => (error instanceof InvalidAccessToken ? 'refused' : String(error)),
          ),
        ).resolves.toBe('refused');
      }
      // Another client's audience.
      await expect(tokens.verify(token, 'app-two')).rejects.toBeInstanceOf(InvalidAccessToken);
      // Expired: refused, unless the caller allows it (a refresh names its session with it).
      app.clock.advance(901);
      await expect(tokens.verify(token, 'app-one')).rejects.toBeInstanceOf(InvalidAccessToken);
      await expect(tokens.verify(token, 'app-one', { allowExpired: true })).resolves.toMatchObject({
        sid: claims.sid,
      });
    });
  });

  it('keeps the development key across restarts (sealed in the database)', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'otp-link-keys-'));
    const embedded = e2eDatabase() === 'embedded';
    const first = await startTestApp(embedded ? { DATA_DIR: dataDir } : {});
    let firstKeys: PublicJwk[];
    let token: string;
    try {
      firstKeys = (await jwks(first)).keys;
      token = (await first.app.get(AccessTokens).issue(request())).token;
      const [row] = await first.dataSource.query<Array<{ kid: string; sealed: Buffer }>>(
        `SELECT kid, private_key_sealed AS sealed FROM token_signing_keys`,
      );
      expect(row.kid).toBe(firstKeys[0].kid);
      expect(Buffer.from(row.sealed).toString('latin1')).not.toContain('PRIVATE KEY');
    } finally {
      if (embedded) await first.close();
    }
    const second = await startTestApp(
      embedded ? { DATA_DIR: dataDir } : {},
      embedded ? {} : { database: first.database },
    );
    try {
      expect((await jwks(second)).keys).toEqual(firstKeys);
      await expect(second.app.get(AccessTokens).verify(token, 'app-one')).resolves.toBeDefined();
    } finally {
      await second.close();
      if (!embedded) await first.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('TOKEN_SIGNING_KEYS: the first signs, all are published and verify, a removed one no more', async () => {
    const [current, previous] = [newPem(), newPem()];
    const before = await startTestApp({ TOKEN_SIGNING_KEYS: previous });
    const oldToken = (await before.app.get(AccessTokens).issue(request())).token;
    const oldKid = (await jwks(before)).keys[0].kid;
    await before.close();

    // Written with escaped newlines, as in a one-line .env entry.
    const rotating = await startTestApp({
      TOKEN_SIGNING_KEYS: `${current}${previous}`.replace(/\n/g, '\\n'),
    });
    try {
      const { keys } = await jwks(rotating);
      expect(keys.map((key) => key.kid)).toHaveLength(2);
      expect(keys[1].kid).toBe(oldKid);
      const tokens = rotating.app.get(AccessTokens);
      const { token } = await tokens.issue(request());
      expect(decodeProtectedHeader(token).kid).toBe(keys[0].kid);
      const set = createLocalJWKSet({ keys });
      for (const signed of [token, oldToken]) {
        await expect(
          jwtVerify(signed, set, { audience: 'app-one', currentDate: rotating.clock.now() }),
        ).resolves.toBeDefined();
        await expect(tokens.verify(signed, 'app-one')).resolves.toBeDefined();
      }
    } finally {
      await rotating.close();
    }

    const retired = await startTestApp({ TOKEN_SIGNING_KEYS: current });
    try {
      expect((await jwks(retired)).keys.map((key) => key.kid)).not.toContain(oldKid);
      await expect(
        retired.app.get(AccessTokens).verify(oldToken, 'app-one'),
      ).rejects.toBeInstanceOf(InvalidAccessToken);
    } finally {
      await retired.close();
    }
  });
});
