import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { AccessTokens, PublicJwk } from '@app/sessions';
import { adminApi, cli, cliOk, registeredClient, TEST_ADMIN_KEY } from '../support/admin';
import { Answer, AppAuthClient, Tokens } from '../support/app-auth-client';
import { http } from '../support/http';
import { lastCodeFor, uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

const ISSUER = 'https://otp.example.test';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const OPAQUE = /^[A-Za-z0-9_-]{43}$/;

async function jwks(t: TestApp): Promise<PublicJwk[]> {
  const response = await fetch(`${t.url}/.well-known/jwks.json`);
  return ((await response.json()) as { keys: PublicJwk[] }).keys;
}

/** An error answer of the app API: its envelope, with the status equal to its code. */
function expectError(
  answer: { status: number; body: Record<string, any> }, // eslint-disable-line @typescript-eslint/no-explicit-any -- any answer
  status: number,
  errorCode: string,
) {
  expect({ status: answer.status, errorCode: answer.body?.error?.errorCode }).toEqual({
    status,
    errorCode,
  });
  expect(answer.body).toEqual({
    status: 'error',
    error: expect.objectContaining({
      code: status,
      errorCode,
      message: expect.any(String) as string,
      trace_id: expect.any(String) as string,
    }) as object,
  });
}

/** The Okto-compatible app sign-in (APP-AUTH.md), end to end over HTTP. */
describe('app sign-in with a phone code', () => {
  let t: TestApp;
  let clientId: string;
  let app: AppAuthClient;

  beforeAll(async () => {
    t = await startTestApp({
      PUBLIC_URL: `${ISSUER}/`,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      APP_RATE_LIMIT_PER_MINUTE: '1000',
    });
    const client = await registeredClient(t, '--id', 'okto-app');
    clientId = client.id;
    app = new AppAuthClient(t, client.created.appKey.appKey as string);
  });
  afterAll(() => t.close());

  describe('app keys', () => {
    it('clients:create prints an app key, shown once and stored only as a hash', async () => {
      const created = await cliOk(t, 'clients:create', '--name', 'Keys');
      expect(created.appKey).toEqual({
        id: expect.stringMatching(/^ak_[0-9a-f]{16}$/) as string,
        appKey: expect.stringMatching(/^olk_[A-Za-z0-9_-]{43}$/) as string,
      });
      const rows = await t.dataSource.query<Array<{ key_hash: Buffer }>>(
        `SELECT key_hash FROM partner_app_keys WHERE client_id = $1`,
        [created.client.id],
      );
      expect(rows).toHaveLength(1);
      expect(Buffer.from(rows[0].key_hash).toString('utf8')).not.toContain(
        (created.appKey.appKey as string).slice(4),
      );
      const listed = await cliOk(t, 'app-keys:list', '--client', created.client.id);
      expect(listed).toEqual({
        appKeys: [
          {
            id: created.appKey.id,
            status: 'active',
            createdAt: expect.any(String) as string,
            retiredAt: null,
          },
        ],
        allowedOrigins: null,
      });
      expect(JSON.stringify(listed)).not.toContain(created.appKey.appKey);
    });

    it('refuses a missing, unknown, malformed or retired key with 401 INVALID_API_KEY', async () => {
      const phone = uniquePhone();
      for (const key of [
        undefined,
        '',
        'olk_' + 'A'.repeat(43),
        'x'.repeat(5000),
        "olk_' OR 1=1 --",
      ]) {
        const answer = await http(t.url, 'POST', '/api/v1/authenticate/phone', {
          headers: key === undefined ? {} : { 'x-api-key': key },
          body: { phone_number: phone.national, country_short_name: 'IN' },
        });
        expectError(answer, 401, 'INVALID_API_KEY');
      }
      // Rotation: a second key works beside the first; retired, it stops at once.
      const second = await cliOk(t, 'app-keys:issue', '--client', clientId);
      const other = new AppAuthClient(t, second.appKey as string);
      expect((await other.send(uniquePhone().national)).status).toBe(200);
      expect((await app.send(uniquePhone().national)).status).toBe(200);
      await cliOk(t, 'app-keys:retire', '--client', clientId, '--key', second.id);
      expectError(await other.send(uniquePhone().national), 401, 'INVALID_API_KEY');
      expect((await app.send(uniquePhone().national)).status).toBe(200);
      // Another client's key id is not this client's.
      const retired = await cli(t, 'app-keys:retire', '--client', 'okto-app', '--key', 'ak_nope');
      expect(retired.exitCode).toBe(3);
    });

    it('/admin issues, lists and retires app keys and sets allowed origins', async () => {
      const issued = await adminApi(t, 'POST', `/clients/${clientId}/app-keys`);
      expect(issued.status).toBe(201);
      expect(issued.body.appKey).toMatch(/^olk_/);
      const listed = await adminApi(t, 'GET', `/clients/${clientId}/app-keys`);
      expect(listed.status).toBe(200);
      const ids = (listed.body.appKeys as Array<{ id: string }>).map((key) => key.id);
      expect(ids).toContain(issued.body.id);
      const retired = await adminApi(
        t,
        'POST',
        `/clients/${clientId}/app-keys/${issued.body.id}/retire`,
      );
      expect(retired.status).toBe(200);
      const keys = retired.body.appKeys as Array<{ id: string; status: string }>;
      expect(keys.find((key) => key.id === issued.body.id)?.status).toBe('retired');
      for (const origins of [['not an origin'], ['https://a.example/path'], [42], 'x']) {
        const bad = await adminApi(t, 'PUT', `/clients/${clientId}/allowed-origins`, {
          body: { origins },
        });
        expect(bad.status).toBe(400);
      }
      expect((await adminApi(t, 'GET', '/clients/nobody/app-keys')).status).toBe(404);
      expect(
        (await adminApi(t, 'GET', `/clients/${clientId}/app-keys`, { key: null })).status,
      ).toBe(401);
    });

    it('checks Origin, when sent, against the allowed origins', async () => {
      const created = await cliOk(t, 'clients:create', '--name', 'Web');
      const id = created.client.id as string;
      const web = (origin?: string) =>
        new AppAuthClient(t, created.appKey.appKey as string, origin ? { origin } : {});
      const set = await adminApi(t, 'PUT', `/clients/${id}/allowed-origins`, {
        body: { origins: ['https://app.example.com'] },
      });
      expect(set.status).toBe(200);
      expect(set.body.allowedOrigins).toEqual(['https://app.example.com']);
      expect((await web('https://app.example.com').send(uniquePhone().national)).status).toBe(200);
      expect((await web().send(uniquePhone().national)).status).toBe(200); // a native app
      expectError(
        await web('https://evil.example').send(uniquePhone().national),
        403,
        'ORIGIN_NOT_ALLOWED',
      );
      expectError(
        await web('https://app.example.com.evil.example').send(uniquePhone().national),
        403,
        'ORIGIN_NOT_ALLOWED',
      );
      await cliOk(t, 'app-keys:origins', '--client', id);
      expect((await web('https://evil.example').send(uniquePhone().national)).status).toBe(200);
    });

    it('sets allowed origins only when the body names them: null or [] clears', async () => {
      const created = await cliOk(t, 'clients:create', '--name', 'Origins');
      const client = `/clients/${created.client.id as string}`;
      const path = `${client}/allowed-origins`;
      const origins = ['https://app.example.com'];
      expect((await adminApi(t, 'PUT', path, { body: { origins } })).body.allowedOrigins).toEqual(
        origins,
      );
      // A body without `origins` (empty, or a typo) once cleared the list: now it is refused.
      for (const body of [{}, { allowedOrigins: ['https://other.example'] }]) {
        const res = await adminApi(t, 'PUT', path, { body });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({
          statusCode: 400,
          error: 'VALIDATION_FAILED',
          details: expect.arrayContaining([{ field: 'origins', message: 'origins is required' }]),
        });
      }
      expect((await adminApi(t, 'GET', `${client}/app-keys`)).body.allowedOrigins).toEqual(origins);
      for (const cleared of [null, []]) {
        await adminApi(t, 'PUT', path, { body: { origins } });
        const res = await adminApi(t, 'PUT', path, { body: { origins: cleared } });
        expect(res.status).toBe(200);
        expect(res.body.allowedOrigins).toBeNull();
      }
    });

    it("refuses a suspended client's key at once, and takes it back when activated", async () => {
      const created = await cliOk(t, 'clients:create', '--name', 'Suspended');
      const suspended = new AppAuthClient(t, created.appKey.appKey as string);
      const tokens = await suspended.signIn();
      await cliOk(t, 'clients:suspend', '--client', created.client.id);
      expectError(await suspended.send(uniquePhone().national), 401, 'INVALID_API_KEY');
      expectError(await suspended.user(tokens.auth_token), 401, 'INVALID_API_KEY');
      expectError(await suspended.refresh(tokens), 401, 'INVALID_API_KEY');
      await cliOk(t, 'clients:activate', '--client', created.client.id);
      expect((await suspended.user(tokens.auth_token)).status).toBe(200);
    });
  });

  describe('the Okto flow', () => {
    it('sends a code, verifies it, and answers tokens jose verifies against the JWKS', async () => {
      const phone = uniquePhone();
      const sent = await app.send(phone.national);
      expect(sent.status).toBe(200);
      expect(sent.body).toEqual({
        status: 'success',
        data: {
          status: 'success',
          message: 'phone otp sent',
          code: 200,
          token: expect.stringMatching(UUID) as string,
          trace_id: expect.any(String) as string,
        },
      });
      const message = lastCodeFor(t.messagesFile, phone.e164);
      expect(message.body).toContain(message.code);
      // A sign-in code names the app; only the partner flow's says it links the phone.
      expect(message.body).toMatch(/^\d+ is your .+ verification code\. It expires/);
      const verified = await app.verify(phone.national, message.code, sent.body.data.token);
      expect(verified.status).toBe(200);
      expect(verified.body).toEqual({
        status: 'success',
        data: {
          auth_token: expect.any(String) as string,
          message: 'success',
          refresh_auth_token: expect.stringMatching(OPAQUE) as string,
          device_token: expect.stringMatching(OPAQUE) as string,
          trace_id: expect.any(String) as string,
        },
      });
      const token = verified.body.data.auth_token as string;
      const keys = await jwks(t);
      expect(decodeProtectedHeader(token)).toEqual({
        alg: 'ES256',
        typ: 'at+jwt',
        kid: keys[0].kid,
      });
      const { payload } = await jwtVerify(token, createLocalJWKSet({ keys }), {
        issuer: ISSUER,
        audience: clientId,
        algorithms: ['ES256'],
        typ: 'at+jwt',
        currentDate: t.clock.now(),
      });
      const phoneUser = await t.dataSource.query<Array<{ id: string }>>(
        `SELECT id FROM phone_users WHERE phone_e164 = $1`,
        [phone.e164],
      );
      expect(payload).toEqual({
        iss: ISSUER,
        aud: clientId,
        sub: t.app.get(AccessTokens).pairwiseSubject(clientId, phoneUser[0].id),
        sid: expect.stringMatching(UUID) as string,
        jti: expect.any(String) as string,
        iat: expect.any(Number) as number,
        exp: (payload.iat as number) + 900,
        phone_number: phone.e164,
        phone_number_verified: true,
      });
      expect(payload.sub).not.toBe(phoneUser[0].id);

      const user = await app.user(token);
      expect(user.status).toBe(200);
      expect(user.body).toEqual({
        status: 'success',
        data: {
          user_id: payload.sub,
          phone_number: phone.e164,
          phone_verified_at: expect.any(String) as string,
          created_at: expect.any(String) as string,
        },
      });

      // The code is spent: the same verify again is refused.
      const again = await app.verify(phone.national, message.code, sent.body.data.token);
      expectError(again, 410, 'OTP_EXPIRED');

      // Refresh, then logout: every token of the session stops at once.
      const tokens = verified.body.data as Tokens;
      const refreshed = await app.refresh(tokens);
      expect(refreshed.status).toBe(200);
      expect(refreshed.body).toEqual({
        status: 'success',
        data: {
          auth_token: expect.any(String) as string,
          refresh_auth_token: expect.stringMatching(OPAQUE) as string,
          device_token: tokens.device_token,
          message: 'success',
        },
      });
      const next = refreshed.body.data as Tokens;
      expect(next.refresh_auth_token).not.toBe(tokens.refresh_auth_token);
      expect((await app.user(next.auth_token)).status).toBe(200);
      const out = await app.logout(next.auth_token);
      expect(out.status).toBe(200);
      expect(out.body).toEqual({ status: 'success', data: { message: 'success' } });
      expectError(await app.user(next.auth_token), 401, 'INVALID_TOKEN');
      expectError(await app.user(token), 401, 'INVALID_TOKEN');
      expectError(await app.logout(next.auth_token), 401, 'INVALID_TOKEN');
      expectError(await app.refresh(next), 401, 'INVALID_REFRESH_TOKEN');
    });

    it('keeps the number out of the audit trail: the code owner is its keyed hash', async () => {
      const phone = uniquePhone();
      const sent = await app.send(phone.national);
      const message = lastCodeFor(t.messagesFile, phone.e164);
      expect((await app.verify(phone.national, message.code, sent.body.data.token)).status).toBe(
        200,
      );
      const events = await t.dataSource.query<
        Array<{ event: string; user_id: string; owner: string; row: string }>
      >(
        `SELECT event, user_id, 'phone:' || encode(substring(target_hash FROM 1 FOR 16), 'hex')
                AS owner, row_to_json(e)::text AS row
           FROM audit_events e WHERE client_id = $1 AND challenge_id = $2 ORDER BY id`,
        [clientId, sent.body.data.token],
      );
      expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['requested', 'verified']));
      for (const e of events) {
        expect(e.user_id).toMatch(/^phone:[0-9a-f]{32}$/);
        expect(e.user_id).toBe(e.owner);
        expect(e.row).not.toContain(phone.e164.slice(1));
      }
      const queued = await t.dataSource.query<Array<{ audit: string }>>(
        `SELECT audit::text FROM outbox_messages WHERE recipient = $1`,
        [phone.e164],
      );
      expect(queued.length).toBeGreaterThan(0);
      for (const message of queued) expect(message.audit).not.toContain(phone.e164.slice(1));
    });

    it('gives two clients different subs for one person (pairwise)', async () => {
      const other = await cliOk(t, 'clients:create', '--name', 'Other');
      const otherApp = new AppAuthClient(t, other.appKey.appKey as string);
      const phone = uniquePhone();
      const one = await app.signIn(phone);
      const two = await otherApp.signIn(phone);
      const subOne = (await app.user(one.auth_token)).body.data.user_id as string;
      const subTwo = (await otherApp.user(two.auth_token)).body.data.user_id as string;
      expect(subOne).toMatch(UUID);
      expect(subOne).not.toBe(subTwo);
      // A token of one client is refused with another client's key (wrong aud).
      expectError(await otherApp.user(one.auth_token), 401, 'INVALID_TOKEN');
    });

    it('answers a resend inside the cooldown with 429 RESEND_TOO_SOON, then the same token', async () => {
      const phone = uniquePhone();
      const first = await app.send(phone.national);
      const soon = await app.send(phone.national);
      expectError(soon, 429, 'RESEND_TOO_SOON');
      expect(Number(soon.headers['retry-after'])).toBeGreaterThan(0);
      expect(soon.body.error.details.retryAfter).toBeGreaterThan(0);
      t.clock.advance(61);
      const later = await app.send(phone.national);
      expect(later.status).toBe(200);
      expect(later.body.data.token).toBe(first.body.data.token);
      const { code } = lastCodeFor(t.messagesFile, phone.e164);
      expect((await app.verify(phone.national, code, later.body.data.token)).status).toBe(200);
    });

    it('counts wrong codes with attemptsLeft, then locks; codes expire after APP_OTP_TTL_SECONDS', async () => {
      const phone = uniquePhone();
      const sent = await app.send(phone.national);
      const { code } = lastCodeFor(t.messagesFile, phone.e164);
      const wrong = code === '000000' ? '111111' : '000000';
      const first = await app.verify(phone.national, wrong, sent.body.data.token);
      expectError(first, 400, 'INVALID_OTP');
      expect(first.body.error.details).toEqual({ attemptsLeft: expect.any(Number) as number });
      let left = first.body.error.details.attemptsLeft as number;
      while (left > 0) {
        left = (await app.verify(phone.national, wrong, sent.body.data.token)).body.error.details
          .attemptsLeft as number;
      }
      expectError(
        await app.verify(phone.national, code, sent.body.data.token),
        429,
        'TOO_MANY_ATTEMPTS',
      );

      const late = uniquePhone();
      const lateSent = await app.send(late.national);
      const lateCode = lastCodeFor(t.messagesFile, late.e164).code;
      t.clock.advance(301);
      expectError(
        await app.verify(late.national, lateCode, lateSent.body.data.token),
        410,
        'OTP_EXPIRED',
      );
    });

    it("refuses another phone's token, an unknown token, and a bad country", async () => {
      const phone = uniquePhone();
      const sent = await app.send(phone.national);
      const { code } = lastCodeFor(t.messagesFile, phone.e164);
      const other = uniquePhone();
      expectError(
        await app.verify(other.national, code, sent.body.data.token),
        404,
        'OTP_NOT_FOUND',
      );
      expectError(
        await app.verify(phone.national, code, '00000000-0000-4000-8000-000000000000'),
        404,
        'OTP_NOT_FOUND',
      );
      expectError(await app.send(phone.national, 'ZZ'), 400, 'INVALID_PHONE');
      expectError(await app.send('12345', 'IN'), 400, 'INVALID_PHONE');
      // The challenge is untouched: the right code still works.
      expect((await app.verify(phone.national, code, sent.body.data.token)).status).toBe(200);
    });
  });

  describe('hostile, oversized and wrong-typed input', () => {
    const base = { phone_number: '9876543219', country_short_name: 'IN' };
    const verifyBase = { ...base, otp: '123456', token: '00000000-0000-4000-8000-000000000000' };

    it.each([
      ['authenticate/phone', {}],
      ['authenticate/phone', { ...base, phone_number: 9876543219 }],
      ['authenticate/phone', { ...base, phone_number: 'x'.repeat(5000) }],
      ['authenticate/phone', { ...base, phone_number: "1' OR '1'='1" }],
      ['authenticate/phone', { ...base, country_short_name: ['IN'] }],
      ['authenticate/phone', { ...base, country_short_name: 'IND' }],
      ['authenticate/phone', { ...base, country_short_name: '<script>' }],
      ['authenticate/phone/verify', { ...verifyBase, otp: 123456 }],
      ['authenticate/phone/verify', { ...verifyBase, otp: '12ab56' }],
      ['authenticate/phone/verify', { ...verifyBase, otp: '1'.repeat(100) }],
      ['authenticate/phone/verify', { ...verifyBase, token: 'not-a-uuid' }],
      ['authenticate/phone/verify', { ...verifyBase, token: { $ne: null } }],
      ['authenticate/phone/verify', { ...verifyBase, token: undefined }],
    ])('POST /api/v1/%s, bad body %#, is 400 VALIDATION_FAILED', async (path, body) => {
      const answer: Answer = await http(t.url, 'POST', `/api/v1/${path}`, {
        headers: { 'x-api-key': app.apiKey },
        body,
      });
      expectError(answer, 400, 'VALIDATION_FAILED');
      expect(Array.isArray(answer.body.error.details)).toBe(true);
    });

    it('refuses prototype-polluting fields, and ignores unknown ones', async () => {
      const answer = await http(t.url, 'POST', '/api/v1/authenticate/phone', {
        headers: { 'x-api-key': app.apiKey },
        body: `{"phone_number":"${uniquePhone().national}","country_short_name":"IN","__proto__":{"admin":true},"constructor":{"prototype":{"x":1}}}`,
      });
      expect(answer.status).toBe(400);
      expect(({} as Record<string, unknown>).admin).toBeUndefined();
      const extra = await http(t.url, 'POST', '/api/v1/authenticate/phone', {
        headers: { 'x-api-key': app.apiKey },
        body: { phone_number: uniquePhone().national, country_short_name: 'IN', admin: true },
      });
      expect(extra.status).toBe(200);
    });

    it('refuses a body that is not JSON, an array, or oversized, in its own error shape', async () => {
      const post = (path: string, body: unknown, more: Record<string, string> = {}) =>
        http(t.url, 'POST', `/api/v1/${path}`, {
          headers: { 'x-api-key': app.apiKey, ...more },
          body,
        });
      for (const path of ['authenticate/phone', 'authenticate/phone/verify']) {
        expectError(await post(path, '{"phone_number":'), 400, 'VALIDATION_FAILED');
        expectError(await post(path, [base]), 400, 'VALIDATION_FAILED');
        expectError(
          await post(path, { ...base, padding: 'x'.repeat(20_000) }),
          413,
          'PAYLOAD_TOO_LARGE',
        );
        expectError(
          await post(path, 'phone_number=1', { 'content-type': 'text/plain' }),
          415,
          'UNSUPPORTED_MEDIA_TYPE',
        );
      }
      // The routes without a body parse one too when it is sent, in the same shape.
      for (const path of ['refresh_token', 'logout']) {
        expectError(await post(path, '{"phone_number":'), 400, 'VALIDATION_FAILED');
      }
    });

    it('refuses bad auth, refresh and device headers on refresh, logout and user_from_token', async () => {
      const tokens = await app.signIn();
      const bad = [
        '',
        'Bearer',
        'Bearer ',
        `Basic ${tokens.auth_token}`,
        `Bearer ${tokens.auth_token}x`,
        `Bearer ${'a'.repeat(5000)}`,
        'Bearer a.b.c',
        `Bearer ${tokens.refresh_auth_token}`,
      ];
      for (const authorization of bad) {
        for (const path of ['logout', 'user_from_token']) {
          const answer = await http(t.url, path === 'logout' ? 'POST' : 'GET', `/api/v1/${path}`, {
            headers: { 'x-api-key': app.apiKey, authorization },
          });
          expectError(answer, 401, 'INVALID_TOKEN');
        }
        expectError(await app.refresh(tokens, { authorization }), 401, 'INVALID_TOKEN');
      }
      const refreshHeaders: Array<Record<string, string>> = [
        { 'x-refresh-authorization': '' },
        { 'x-refresh-authorization': tokens.refresh_auth_token },
        { 'x-refresh-authorization': `Bearer ${'r'.repeat(5000)}` },
        { 'x-refresh-authorization': `Bearer ${tokens.device_token}` },
        { 'x-device-token': '' },
        { 'x-device-token': 'x'.repeat(5000) },
        { 'x-device-token': tokens.refresh_auth_token },
      ];
      for (const headers of refreshHeaders) {
        expectError(await app.refresh(tokens, headers), 401, 'INVALID_REFRESH_TOKEN');
      }
      // None of those used the refresh token: it still works once.
      expect((await app.refresh(tokens)).status).toBe(200);
    });
  });

  describe('limits per key', () => {
    let limited: TestApp;

    beforeAll(async () => {
      limited = await startTestApp({ APP_RATE_LIMIT_PER_MINUTE: '3' });
    });
    afterAll(() => limited.close());

    it('answers 429 RATE_LIMITED with Retry-After past APP_RATE_LIMIT_PER_MINUTE, per key', async () => {
      const one = await cliOk(limited, 'clients:create', '--name', 'One');
      const two = await cliOk(limited, 'clients:create', '--name', 'Two');
      const first = new AppAuthClient(limited, one.appKey.appKey as string);
      const second = new AppAuthClient(limited, two.appKey.appKey as string);
      for (let i = 0; i < 3; i++)
        expect((await first.send(uniquePhone().national)).status).toBe(200);
      const refused = await first.send(uniquePhone().national);
      expectError(refused, 429, 'RATE_LIMITED');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      // Another key of another client has its own budget.
      expect((await second.send(uniquePhone().national)).status).toBe(200);
    });
  });

  describe('limits per IP', () => {
    let proxied: TestApp;

    beforeAll(async () => {
      proxied = await startTestApp({
        HTTP_RATE_LIMIT_PER_MINUTE: '3',
        APP_RATE_LIMIT_PER_MINUTE: '5',
        TRUST_PROXY: '127.0.0.1',
      });
    });
    afterAll(() => proxied.close());

    it("stops one address at HTTP_RATE_LIMIT_PER_MINUTE before it spends the app key's budget", async () => {
      const created = await cliOk(proxied, 'clients:create', '--name', 'Shared');
      const key = created.appKey.appKey as string;
      const flood = (path: string) =>
        http(proxied.url, 'GET', path, {
          headers: { 'x-api-key': key, 'x-forwarded-for': '203.0.113.66' },
        });
      for (let i = 0; i < 3; i++)
        expectError(await flood('/api/v1/user_from_token'), 401, 'INVALID_TOKEN');
      for (let i = 0; i < 5; i++) {
        const refused = await flood('/api/v1/user_from_token');
        expectError(refused, 429, 'RATE_LIMITED');
        expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      }
      // A user elsewhere still signs in with the same key.
      const elsewhere = new AppAuthClient(proxied, key);
      const sent = await elsewhere.send(uniquePhone().national, 'IN', {
        'x-forwarded-for': '198.51.100.7',
      });
      expect(sent.status).toBe(200);
    });

    it('counts an IPv6 /64 as one address: its hosts share the bucket, the next /64 has its own', async () => {
      const created = await cliOk(proxied, 'clients:create', '--name', 'Six');
      const from = (address: string) =>
        http(proxied.url, 'GET', '/api/v1/user_from_token', {
          headers: { 'x-api-key': created.appKey.appKey as string, 'x-forwarded-for': address },
        });
      for (const host of ['2001:db8:7:7::1', '2001:db8:7:7::2', '2001:db8:7:7:abcd::3'])
        expectError(await from(host), 401, 'INVALID_TOKEN');
      expectError(await from('2001:db8:7:7:ffff::9'), 429, 'RATE_LIMITED');
      expectError(await from('2001:db8:7:8::1'), 401, 'INVALID_TOKEN');
    });
  });
});
