import { createHmac, generateKeyPairSync } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify, SignJWT } from 'jose';
import { AccessTokens, PublicJwk, SigningKeys } from '@app/sessions';
import {
  adminApi,
  cli,
  cliOk,
  linkPhone,
  mintedToken,
  registeredClient,
  TEST_ADMIN_KEY,
} from '../support/admin';
import { Answer, AppAuthClient, Tokens } from '../support/app-auth-client';
import { uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';
import { e2eDatabase } from '../support/test-database';

const ISSUER = 'https://otp.example.test';

async function jwks(t: TestApp): Promise<PublicJwk[]> {
  const response = await fetch(`${t.url}/.well-known/jwks.json`);
  return ((await response.json()) as { keys: PublicJwk[] }).keys;
}

function expectError(answer: Answer, status: number, errorCode: string) {
  expect({ status: answer.status, errorCode: answer.body?.error?.errorCode }).toEqual({
    status,
    errorCode,
  });
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A compact JWS with any header, HMAC-SHA256 signed with `secret` (or unsigned). */
function forged(header: object, payload: object, secret?: string): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const signature = secret ? createHmac('sha256', secret).update(input).digest('base64url') : '';
  return `${input}.${signature}`;
}

/** Our auth tokens, refresh tokens and signing keys under attack and in rotation. */
describe('app sign-in tokens', () => {
  let t: TestApp;
  let clientId: string;
  let app: AppAuthClient;

  beforeAll(async () => {
    t = await startTestApp({ PUBLIC_URL: `${ISSUER}/`, ADMIN_API_KEY: TEST_ADMIN_KEY });
    const client = await registeredClient(t, '--id', 'token-app');
    clientId = client.id;
    app = new AppAuthClient(t, client.created.appKey.appKey as string);
  });
  afterAll(() => t.close());

  describe('attacks on the auth token', () => {
    let tokens: Tokens;
    let header: { kid: string };
    let claims: Record<string, unknown>;

    beforeEach(async () => {
      tokens = await app.signIn();
      header = decodeProtectedHeader(tokens.auth_token) as { kid: string };
      claims = decodeJwt(tokens.auth_token);
      expect((await app.user(tokens.auth_token)).status).toBe(200);
    });

    it('refuses alg none', async () => {
      for (const alg of ['none', 'None', 'NONE']) {
        const token = forged({ alg, typ: 'at+jwt', kid: header.kid }, claims);
        expectError(await app.user(token), 401, 'INVALID_TOKEN');
        expectError(await app.logout(token), 401, 'INVALID_TOKEN');
        expectError(await app.refresh({ ...tokens, auth_token: token }), 401, 'INVALID_TOKEN');
      }
    });

    it('refuses HS256 signed with the public key (PEM or JWK) as the secret', async () => {
      const key = (await t.app.get(SigningKeys).keys()).all[0];
      for (const secret of [key.publicPem, JSON.stringify(key.jwk), key.jwk.x]) {
        const token = forged({ alg: 'HS256', typ: 'at+jwt', kid: header.kid }, claims, secret);
        expectError(await app.user(token), 401, 'INVALID_TOKEN');
        expectError(await app.refresh({ ...tokens, auth_token: token }), 401, 'INVALID_TOKEN');
      }
    });

    it('refuses a token signed by another P-256 key under our kid', async () => {
      const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
      const token = await new SignJWT(claims)
        .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: header.kid })
        .sign(privateKey);
      expectError(await app.user(token), 401, 'INVALID_TOKEN');
    });

    it('refuses a wrong aud, a wrong typ, a wrong iss and a tampered claim', async () => {
      const tokens$ = t.app.get(AccessTokens);
      const session = claims.sid as string;
      const other = await tokens$.issue({
        sessionId: session,
        clientId: 'another-client',
        phoneUserId: '00000000-0000-4000-8000-000000000000',
        phoneE164: claims.phone_number as string,
      });
      expectError(await app.user(other.token), 401, 'INVALID_TOKEN');
      const [h, p, s] = tokens.auth_token.split('.');
      const tampered = `${h}.${b64({ ...claims, phone_number: '+10000000000' })}.${s}`;
      expectError(await app.user(tampered), 401, 'INVALID_TOKEN');
      const key = (await t.app.get(SigningKeys).keys()).all[0];
      const sign = (head: Record<string, string>, body: object) =>
        new SignJWT({ ...body })
          .setProtectedHeader({ alg: 'ES256', kid: key.kid, ...head })
          .sign(key.privateKey);
      // Each properly signed by our key: only the one claim is wrong.
      expectError(await app.user(await sign({ typ: 'JWT' }, claims)), 401, 'INVALID_TOKEN');
      expectError(
        await app.user(await sign({ typ: 'at+jwt' }, { ...claims, iss: 'https://evil.example' })),
        401,
        'INVALID_TOKEN',
      );
      expectError(
        await app.user(await sign({ typ: 'at+jwt' }, { ...claims, aud: 'another-client' })),
        401,
        'INVALID_TOKEN',
      );
      // The control: the same signing path with nothing changed passes.
      expect((await app.user(await sign({ typ: 'at+jwt' }, claims))).status).toBe(200);
      void p;
    });

    it('refuses an expired token, which still names its session for a refresh', async () => {
      t.clock.advance(901);
      expectError(await app.user(tokens.auth_token), 401, 'INVALID_TOKEN');
      expectError(await app.logout(tokens.auth_token), 401, 'INVALID_TOKEN');
      const refreshed = await app.refresh(tokens);
      expect(refreshed.status).toBe(200);
      expect((await app.user(refreshed.body.data.auth_token as string)).status).toBe(200);
    });

    it('ends the session on a logout that names JSON and sends no body, as many clients do', async () => {
      const signedIn = await app.signIn();
      const logout = await app.logout(signedIn.auth_token, { 'content-type': 'application/json' });
      expect(logout.status).toBe(200);
      expectError(await app.user(signedIn.auth_token), 401, 'INVALID_TOKEN');
    });

    it('refuses the token of an ended session: logout, and each revocation of operators', async () => {
      expect((await app.logout(tokens.auth_token)).status).toBe(200);
      expectError(await app.user(tokens.auth_token), 401, 'INVALID_TOKEN');

      const bySession = await app.signIn();
      const sid = decodeJwt(bySession.auth_token).sid as string;
      expect(await cliOk(t, 'sessions:end', '--session', sid)).toEqual({ ended: 1 });
      expectError(await app.user(bySession.auth_token), 401, 'INVALID_TOKEN');
      expectError(await app.refresh(bySession), 401, 'INVALID_REFRESH_TOKEN');

      const phone = uniquePhone();
      const one = await app.signIn(phone);
      const two = await app.signIn(phone);
      const listed = await cliOk(t, 'sessions:list', '--phone', phone.e164, '--active');
      expect(listed.items).toHaveLength(2);
      expect(await cliOk(t, 'sessions:end', '--phone', phone.e164, '--client', clientId)).toEqual({
        ended: 2,
      });
      for (const signedIn of [one, two]) {
        expectError(await app.user(signedIn.auth_token), 401, 'INVALID_TOKEN');
      }
      const ended = await cliOk(t, 'sessions:list', '--phone', phone.e164);
      const reasons = (ended.items as Array<{ endReason: string }>).map((s) => s.endReason);
      expect(reasons).toEqual(['revoked_user', 'revoked_user']);

      const byClient = await app.signIn();
      const answer = await adminApi(t, 'POST', '/sessions/end', { body: { clientId } });
      expect(answer.status).toBe(200);
      expect(answer.body.ended).toBeGreaterThanOrEqual(1);
      expectError(await app.user(byClient.auth_token), 401, 'INVALID_TOKEN');

      const page = await adminApi(t, 'GET', `/sessions?clientId=${clientId}&active=true`);
      expect(page.status).toBe(200);
      expect(page.body.items).toEqual([]);
      expect((await adminApi(t, 'POST', '/sessions/end', { body: {} })).status).toBe(400);
      expect(
        (await adminApi(t, 'POST', '/sessions/end', { body: { sessionId: 'nope' } })).status,
      ).toBe(400);
      expect(
        (
          await adminApi(t, 'POST', '/sessions/end', {
            body: { sessionId: '00000000-0000-4000-8000-000000000000' },
          })
        ).status,
      ).toBe(404);
      expect((await adminApi(t, 'GET', '/sessions?phone=12')).status).toBe(400);
      // Control characters answer 400 like any bad filter, not a PostgreSQL 500.
      for (const res of [
        await adminApi(t, 'GET', '/sessions?clientId=%00'),
        await adminApi(t, 'GET', '/sessions?phone=%2B91%01'),
        await adminApi(t, 'POST', '/sessions/end', { body: { clientId: '\u0000' } }),
        await adminApi(t, 'POST', '/sessions/end', { body: { clientId: 'a\u0001b' } }),
        await adminApi(t, 'POST', '/sessions/end', { body: { phone: '+91\u0000' } }),
        // A lone surrogate is no text either (the driver would send it as U+FFFD).
        await adminApi(t, 'POST', '/sessions/end', { body: { clientId: 'a\ud800b' } }),
      ]) {
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({
          statusCode: 400,
          error: 'VALIDATION_FAILED',
          details: [{ field: expect.any(String), message: expect.stringMatching(/printable/) }],
        });
      }
      expect((await adminApi(t, 'GET', '/sessions', { key: 'wrong' })).status).toBe(401);
    });
  });

  describe('refresh tokens', () => {
    it('rotate: each works once, and a reuse after the grace window revokes the session', async () => {
      const first = await app.signIn();
      const second = (await app.refresh(first)).body.data as Tokens;
      expect(second.refresh_auth_token).not.toBe(first.refresh_auth_token);
      const third = (await app.refresh(second)).body.data as Tokens;
      expect((await app.user(third.auth_token)).status).toBe(200);

      t.clock.advance(11); // past REFRESH_REUSE_GRACE_SECONDS
      // The thief (or the owner) presents the used one: the whole session ends.
      expectError(await app.refresh(first), 401, 'INVALID_REFRESH_TOKEN');
      expectError(await app.user(third.auth_token), 401, 'INVALID_TOKEN');
      expectError(await app.refresh(third), 401, 'INVALID_REFRESH_TOKEN');
      const ended = await cliOk(
        t,
        'sessions:list',
        '--session',
        decodeJwt(third.auth_token).sid as string,
      );
      expect(ended.items[0].endReason).toBe('refresh_reuse');
    });

    it('answers two concurrent refreshes within the grace window with the same new pair', async () => {
      const signedIn = await app.signIn();
      const [a, b] = await Promise.all([app.refresh(signedIn), app.refresh(signedIn)]);
      expect([a.status, b.status]).toEqual([200, 200]);
      expect(a.body.data).toEqual(b.body.data);
      // A third tab a moment later still gets the same pair.
      t.clock.advance(5);
      const c = await app.refresh(signedIn);
      expect(c.body.data).toEqual(a.body.data);
      const next = a.body.data as Tokens;
      expect((await app.user(next.auth_token)).status).toBe(200);
      expect((await app.refresh(next)).status).toBe(200);
    });

    it("refuses a refresh token with another session's auth token or device token", async () => {
      const one = await app.signIn();
      const two = await app.signIn();
      expectError(
        await app.refresh({ ...one, auth_token: two.auth_token }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
      expectError(
        await app.refresh({ ...one, device_token: two.device_token }),
        401,
        'INVALID_REFRESH_TOKEN',
      );
      // Neither used it up.
      expect((await app.refresh(one)).status).toBe(200);
    });
  });

  describe('signing keys', () => {
    it('rotate: old-key tokens stay valid until their key is retired, then are refused', async () => {
      const before = await app.signIn();
      const oldKid = decodeProtectedHeader(before.auth_token).kid as string;
      const rotated = await cliOk(t, 'keys:rotate');
      expect(rotated.retiring).toEqual([oldKid]);
      const published = await jwks(t);
      expect(published.map((key) => key.kid).sort()).toEqual([oldKid, rotated.kid].sort());

      const after = await app.signIn();
      expect(decodeProtectedHeader(after.auth_token).kid).toBe(rotated.kid);
      // Both verify, with the service and with jose against the JWKS.
      for (const token of [before.auth_token, after.auth_token]) {
        expect((await app.user(token)).status).toBe(200);
        await jwtVerify(token, createLocalJWKSet({ keys: published }), {
          issuer: ISSUER,
          audience: clientId,
          currentDate: t.clock.now(),
        });
      }
      const listed = await adminApi(t, 'GET', '/signing-keys');
      expect(listed.body.source).toBe('database');
      const statuses = (listed.body.keys as Array<{ status: string }>).map((k) => k.status);
      expect(statuses).toEqual(['active', 'retiring']);

      const refused = await cli(t, 'keys:retire', '--kid', rotated.kid);
      expect(refused.exitCode).toBe(4); // the key that signs cannot go
      expect((await adminApi(t, 'POST', '/signing-keys/nope/retire')).status).toBe(404);
      expect(await cliOk(t, 'keys:retire', '--kid', oldKid)).toEqual({
        kid: oldKid,
        status: 'retired',
      });
      expect((await jwks(t)).map((key) => key.kid)).toEqual([rotated.kid]);
      // The kid of a retired key: refused, even though its session lives.
      expectError(await app.user(before.auth_token), 401, 'INVALID_TOKEN');
      expectError(await app.refresh(before), 401, 'INVALID_TOKEN');
      expect((await app.user(after.auth_token)).status).toBe(200);
      // The rotation is also the operators' API's.
      const again = await adminApi(t, 'POST', '/signing-keys/rotate');
      expect(again.status).toBe(200);
      expect(again.body.retiring).toEqual([rotated.kid]);
      expect((await app.user(after.auth_token)).status).toBe(200);
    });
  });

  describe('the verificationToken of /fe verify', () => {
    it('is verified offline with the JWKS, by a partner backend', async () => {
      const partner = await registeredClient(t);
      const userId = `partner-user-${Date.now()}`;
      const token = await mintedToken(t, partner.id, userId);
      const keys = await jwks(t); // fetched once, like a cache: no call of ours afterwards
      const { phone, verified, app: fe, sent } = await linkPhone(t, token);
      const linkRepeat = async () =>
        (await fe.verify(phone.national, sent.authCode, sent.code)).body.verificationToken;
      const verificationToken = verified.body.verificationToken as string;
      expect(decodeProtectedHeader(verificationToken)).toEqual({
        alg: 'ES256',
        typ: 'phone-verification+jwt',
        kid: expect.any(String) as string,
      });
      const { payload } = await jwtVerify(verificationToken, createLocalJWKSet({ keys }), {
        issuer: ISSUER,
        audience: partner.id,
        algorithms: ['ES256'],
        typ: 'phone-verification+jwt',
        // Its iat is the link's time (the database's clock), not the moved service clock.
      });
      expect(payload).toEqual({
        iss: ISSUER,
        aud: partner.id,
        sub: userId,
        phone_number: phone.e164,
        phone_user_id: verified.body.userId,
        jti: expect.any(String) as string,
        iat: expect.any(Number) as number,
        exp: (payload.iat as number) + 600,
      });
      // The repeated verify answers the same token.
      const again = await linkRepeat();
      expect(again).toBe(verificationToken);
      // It is no auth token: the app API refuses it, and jose refuses an auth token as one.
      expectError(await app.user(verificationToken), 401, 'INVALID_TOKEN');
      const signedIn = await app.signIn();
      await expect(
        jwtVerify(signedIn.auth_token, createLocalJWKSet({ keys: await jwks(t) }), {
          typ: 'phone-verification+jwt',
          currentDate: t.clock.now(),
        }),
      ).rejects.toThrow();
      // Ten minutes later it has expired.
      await expect(
        jwtVerify(verificationToken, createLocalJWKSet({ keys }), {
          currentDate: new Date(((payload.iat as number) + 601) * 1000),
        }),
      ).rejects.toThrow('"exp" claim timestamp check failed');
    });
  });
});

/**
 * A logout on one instance ends the session's tokens on another at once. Only on PostgreSQL: the
 * embedded database lives inside one process, so no second instance can share it.
 */
const describeOnSharedDatabase = e2eDatabase() === 'embedded' ? describe.skip : describe;

describeOnSharedDatabase('app sign-in on two instances', () => {
  let one: TestApp;
  let two: TestApp;

  beforeAll(async () => {
    one = await startTestApp({ PUBLIC_URL: `${ISSUER}/` });
    two = await startTestApp({ PUBLIC_URL: `${ISSUER}/` }, { database: one.database });
  });
  afterAll(async () => {
    await two.close();
    await one.close();
  });

  it('ends every token of a session on both at once on logout, and shares the keys', async () => {
    const created = await cliOk(one, 'clients:create', '--name', 'Two');
    const onOne = new AppAuthClient(one, created.appKey.appKey as string);
    const onTwo = new AppAuthClient(two, created.appKey.appKey as string);
    const signedIn = await onOne.signIn();
    expect((await onTwo.user(signedIn.auth_token)).status).toBe(200);
    const refreshed = (await onTwo.refresh(signedIn)).body.data as Tokens;
    expect((await onOne.user(refreshed.auth_token)).status).toBe(200);
    expect((await onOne.logout(refreshed.auth_token)).status).toBe(200);
    for (const token of [signedIn.auth_token, refreshed.auth_token]) {
      expectError(await onTwo.user(token), 401, 'INVALID_TOKEN');
      expectError(await onOne.user(token), 401, 'INVALID_TOKEN');
    }
    expectError(await onTwo.refresh(refreshed), 401, 'INVALID_REFRESH_TOKEN');
  });

  it('picks up a key rotation and a retirement made on the other instance', async () => {
    const created = await cliOk(one, 'clients:create', '--name', 'Keys');
    const onOne = new AppAuthClient(one, created.appKey.appKey as string);
    const onTwo = new AppAuthClient(two, created.appKey.appKey as string);
    const before = await onTwo.signIn();
    const oldKid = decodeProtectedHeader(before.auth_token).kid as string;
    const rotated = await cliOk(one, 'keys:rotate');
    // Instance two hears of it by notification: it signs with the new key, verifies both.
    let after: Tokens | undefined;
    for (let i = 0; i < 50; i++) {
      const candidate = await onTwo.signIn();
      if (decodeProtectedHeader(candidate.auth_token).kid === rotated.kid) {
        after = candidate;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(after).toBeDefined();
    expect((await onTwo.user(before.auth_token)).status).toBe(200);
    await cliOk(one, 'keys:retire', '--kid', oldKid);
    let refused = false;
    for (let i = 0; i < 50 && !refused; i++) {
      refused = (await onTwo.user(before.auth_token)).status === 401;
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(refused).toBe(true);
    expect((await onOne.user(after?.auth_token ?? '')).status).toBe(200);
  });
});
