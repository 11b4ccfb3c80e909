import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sign } from 'jsonwebtoken';
import { EXIT } from '@app/admin';
import { encodeCursor } from '@app/common';
import { PARTNER_CACHE_TTL_MS } from '@app/partners';
import { http } from '../support/http';
import { eventually } from '../support/eventually';
import { lastCodeFor, OtpClient, uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';
import { newPartnerUser, partnerToken } from '../support/tokens';
import {
  adminApi,
  cli,
  cliOk,
  linkPhone,
  mintedToken,
  registeredClient,
  s2s,
  TEST_ADMIN_KEY,
} from '../support/admin';

/** A token signed by a partner with its own private key (RS256 / ES256). */
function signedWith(
  privateKey: string,
  algorithm: 'RS256' | 'ES256',
  clientId: string,
  userId: string,
  kid?: string,
): string {
  const now = Math.floor(Date.now() / 1000);
  return sign(
    { sub: userId, user_id: userId, third_party_client_id: clientId, iat: now, exp: now + 600 },
    privateKey,
    { algorithm, ...(kid ? { keyid: kid } : {}) },
  );
}

describe('partner registry: operators, partner backends, per-client keys and limits', () => {
  let t: TestApp;
  let scratch: string;

  beforeAll(async () => {
    t = await startTestApp({ ADMIN_API_KEY: TEST_ADMIN_KEY });
    scratch = mkdtempSync(join(tmpdir(), 'otp-link-partners-'));
  });

  afterAll(async () => {
    await t.close();
    rmSync(scratch, { recursive: true, force: true });
  });

  it('walks an operator through: register a client, mint, link, look up, unlink, audit, metrics', async () => {
    const client = await registeredClient(t, '--sender-name', 'Ludo King');
    expect(client.created).toEqual({
      client: expect.objectContaining({ id: client.id, name: 'Ludo', status: 'active' }),
      jwtKey: { kid: client.kid, algorithm: 'HS256', secret: expect.stringMatching(/^[\w-]{43}$/) },
      apiSecret: expect.stringMatching(/^ols_[\w-]{43}$/),
      appKey: {
        id: expect.stringMatching(/^ak_/),
        appKey: expect.stringMatching(/^olk_[\w-]{43}$/),
      },
    });
    // Shown once: what is stored never contains the secrets.
    const [row] = await t.dataSource.query(
      `SELECT encode(api_secret_hash, 'escape') AS hash,
              (SELECT encode(secret_sealed, 'escape') FROM partner_client_keys WHERE client_id = $1) AS sealed
         FROM partner_clients WHERE id = $1`,
      [client.id],
    );
    expect(JSON.stringify(row)).not.toContain(client.credentials.secret.slice(4));
    expect(JSON.stringify(row)).not.toContain(client.jwtSecret);

    const token = await mintedToken(t, client.id, 'player-1');
    const { phone, sent, verified } = await linkPhone(t, token);
    expect(sent.body).toContain('Ludo King');

    const seen = await s2s(t, 'GET', 'player-1', client.credentials);
    expect(seen.status).toBe(200);
    expect(seen.body).toEqual({
      UserID: 'player-1',
      NameSpacedThirdPartyUserID: `${client.id}___player-1`,
      WalletAddress: null,
      LinkedPhone: phone.national,
      CountryCode: '+91',
      PhoneUserId: verified.body.userId,
      LinkedAt: expect.any(String),
    });

    const byPhone = await adminApi(t, 'GET', `/links?phone=${encodeURIComponent(phone.e164)}`);
    expect(byPhone.status).toBe(200);
    expect(byPhone.body).toEqual({
      items: [
        {
          clientId: client.id,
          userId: 'player-1',
          walletAddress: null,
          phone: phone.e164,
          phoneUserId: verified.body.userId,
          linkedAt: seen.body.LinkedAt,
        },
      ],
      nextCursor: null,
    });
    expect((await cliOk(t, 'links:find', '--phone', phone.e164)).items).toEqual(byPhone.body.items);

    const unlinked = await s2s(t, 'DELETE', 'player-1', client.credentials);
    expect(unlinked.status).toBe(200);
    expect(unlinked.body).toEqual({ message: 'Users unlinked successfully' });
    expect((await s2s(t, 'GET', 'player-1', client.credentials)).body).toMatchObject({
      statusCode: 404,
      error: 'RECORD_NOT_FOUND',
    });
    expect((await new OtpClient(t, token).linkedMobileNumber()).status).toBe(404);

    const trail = await cliOk(t, 'audit', '--phone', phone.e164);
    const events = (trail.items as Array<{ event: string; actor: string | null }>).map(
      (e) => `${e.event}:${e.actor ?? '-'}`,
    );
    // Newest first.
    expect(events).toEqual(['unlinked:partner', 'linked:-', 'verified:-', 'sent:-', 'requested:-']);
    expect(JSON.stringify(trail)).not.toContain(phone.national);
    const registry = await adminApi(t, 'GET', `/audit?clientId=${client.id}&event=client_created`);
    expect(registry.body.items).toEqual([
      expect.objectContaining({ event: 'client_created', actor: 'admin', clientId: client.id }),
    ]);

    const metrics = await http(t.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/links_total\{result="unlinked"\} [1-9]/);
    expect(metrics.text).toMatch(/links_total\{result="linked"\} [1-9]/);
    expect(metrics.text).not.toContain(client.id);
  });

  describe('the server-to-server API', () => {
    it('refuses missing, wrong and oversized credentials, and unknown clients', async () => {
      const client = await registeredClient(t);
      const cases: Array<[Record<string, string>, string]> = [
        [{}, 'client credentials missing'],
        [{ 'x-client-id': client.id }, 'client credentials missing'],
        [{ 'x-client-id': client.id, 'x-client-secret': '' }, 'client credentials missing'],
        [
          { 'x-client-id': client.id, 'x-client-secret': 'ols_wrong' },
          'client credentials invalid',
        ],
        [
          { 'x-client-id': client.id, 'x-client-secret': client.jwtSecret },
          'client credentials invalid',
        ],
        [
          { 'x-client-id': 'no-such-client', 'x-client-secret': client.credentials.secret },
          'client credentials invalid',
        ],
        [
          { 'x-client-id': client.id, 'x-client-secret': 'x'.repeat(1000) },
          'client credentials invalid',
        ],
        [
          { 'x-client-id': 'c'.repeat(129), 'x-client-secret': client.credentials.secret },
          'client credentials invalid',
        ],
      ];
      for (const [headers, message] of cases) {
        for (const method of ['GET', 'DELETE'] as const) {
          const res = await s2s(t, method, 'someone', headers);
          expect({ status: res.status, body: res.body }).toEqual({
            status: 401,
            body: { statusCode: 401, error: 'UN_AUTHORIZED', message },
          });
        }
      }
    });

    it("shows a client only its own users: another client's user is not found", async () => {
      const owner = await registeredClient(t);
      const other = await registeredClient(t);
      await linkPhone(t, await mintedToken(t, owner.id, 'shared-name'));
      for (const method of ['GET', 'DELETE'] as const) {
        const res = await s2s(t, method, 'shared-name', other.credentials);
        expect(res.status).toBe(404);
        expect(res.body.error).toBe('RECORD_NOT_FOUND');
      }
      expect((await s2s(t, 'GET', 'shared-name', owner.credentials)).status).toBe(200);
    });

    it('validates the user id of the path', async () => {
      const client = await registeredClient(t);
      for (const userId of ['u'.repeat(257), 'a\u0000b', 'tab\there']) {
        const res = await s2s(t, 'GET', userId, client.credentials);
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({
          error: 'VALIDATION_FAILED',
          details: [{ field: 'userId', message: expect.any(String) }],
        });
      }
      // Hostile text is just a user id nobody has.
      for (const userId of ["' OR 1=1 --", '../../admin/clients', '%00', '😀'.repeat(10)]) {
        const res = await s2s(t, 'GET', userId, client.credentials);
        expect(res.status).toBe(404);
      }
      expect((await s2s(t, 'GET', 'u'.repeat(256), client.credentials)).status).toBe(404);
    });

    it('works after the API secret is rotated only with the new one', async () => {
      const client = await registeredClient(t);
      const rotated = await cliOk(t, 'clients:rotate-secret', '--client', client.id);
      expect(rotated.apiSecret).toMatch(/^ols_/);
      const old = await s2s(t, 'GET', 'nobody', client.credentials);
      expect(old.body.message).toBe('client credentials invalid');
      const fresh = await s2s(t, 'GET', 'nobody', { id: client.id, secret: rotated.apiSecret });
      expect(fresh.status).toBe(404);
    });
  });

  describe('suspension', () => {
    it("refuses a suspended client's tokens and API secret at once, and takes them back on activation", async () => {
      const client = await registeredClient(t);
      const token = await mintedToken(t, client.id, 'player');
      const app = new OtpClient(t, token);
      // Twice: the verified-token cache keeps the token from its second verification on.
      for (let i = 0; i < 2; i++) expect((await app.linkedMobileNumber()).status).toBe(404);

      const suspended = await adminApi(t, 'POST', `/clients/${client.id}/suspend`);
      expect(suspended.status).toBe(200);
      expect(suspended.body.status).toBe('suspended');
      const refused = await app.register(uniquePhone().national);
      expect(refused.body).toEqual({
        statusCode: 401,
        error: 'UN_AUTHORIZED',
        message: 'token client is suspended',
      });
      expect((await s2s(t, 'GET', 'player', client.credentials)).body.message).toBe(
        'client is suspended',
      );

      await cliOk(t, 'clients:activate', '--client', client.id);
      expect((await app.linkedMobileNumber()).status).toBe(404);
      expect((await s2s(t, 'GET', 'player', client.credentials)).status).toBe(404);
    });

    it('takes effect from a change made straight in the database, announced by its trigger', async () => {
      const client = await registeredClient(t);
      const app = new OtpClient(t, await mintedToken(t, client.id, 'player'));
      // Twice: the client is cached as active now, and so is the verified token.
      for (let i = 0; i < 2; i++) expect((await app.linkedMobileNumber()).status).toBe(404);
      await t.dataSource.query(`UPDATE partner_clients SET status = 'suspended' WHERE id = $1`, [
        client.id,
      ]);
      // Well inside the cache's TTL: the notification, not the expiry, made the difference.
      const started = Date.now();
      await eventually(async () => (await app.linkedMobileNumber()).status === 401);
      expect(Date.now() - started).toBeLessThan(PARTNER_CACHE_TTL_MS / 2);
    });
  });

  describe('JWT keys', () => {
    it('rotates: old and new keys both verify until the old is retired', async () => {
      const client = await registeredClient(t);
      const oldToken = await mintedToken(t, client.id, 'player');
      const added = await cliOk(t, 'clients:rotate-key', '--client', client.id);
      expect(added).toEqual({
        kid: expect.stringMatching(/^[0-9a-f]{12}$/),
        algorithm: 'HS256',
        secret: expect.any(String),
      });
      const newToken = await mintedToken(t, client.id, 'player', '--kid', added.kid);
      // A token without kid is tried against each active key.
      const now = Math.floor(Date.now() / 1000);
      const noKid = sign(
        { user_id: 'player', third_party_client_id: client.id, iat: now, exp: now + 600 },
        added.secret as string,
        { algorithm: 'HS256' },
      );
      for (const token of [oldToken, newToken, noKid]) {
        // Twice: then the verified-token cache holds each of them.
        expect((await new OtpClient(t, token).linkedMobileNumber()).status).toBe(404);
        expect((await new OtpClient(t, token).linkedMobileNumber()).status).toBe(404);
      }

      const retired = await adminApi(t, 'POST', `/clients/${client.id}/keys/${client.kid}/retire`);
      expect(retired.status).toBe(200);
      expect(retired.body.keys).toEqual([
        expect.objectContaining({
          kid: client.kid,
          status: 'retired',
          retiredAt: expect.any(String),
        }),
        expect.objectContaining({ kid: added.kid, status: 'active', retiredAt: null }),
      ]);
      const refused = await new OtpClient(t, oldToken).linkedMobileNumber();
      expect(refused.body).toEqual({
        statusCode: 401,
        error: 'UN_AUTHORIZED',
        message: 'token key is retired',
      });
      const oldNoKid = sign(
        { user_id: 'player', third_party_client_id: client.id, iat: now, exp: now + 600 },
        client.jwtSecret,
        { algorithm: 'HS256' },
      );
      expect((await new OtpClient(t, oldNoKid).linkedMobileNumber()).body.message).toBe(
        'invalid token signature',
      );
      expect((await new OtpClient(t, newToken).linkedMobileNumber()).status).toBe(404);

      // The last active key stays: retiring it would lock the partner out by accident.
      const last = await cli(t, 'clients:retire-key', '--client', client.id, '--kid', added.kid);
      expect(last.exitCode).toBe(EXIT.conflict);
      expect(last.error).toMatchObject({ error: 'CONFLICT' });
    });

    it('verifies a registered client only with its own keys, never the fallback secret', async () => {
      const client = await registeredClient(t);
      const withFallback = partnerToken({ clientId: client.id, userId: 'player' });
      const res = await new OtpClient(t, withFallback).linkedMobileNumber();
      expect(res.body.message).toBe('invalid token signature');
      const unknownKid = sign(
        { user_id: 'p', third_party_client_id: client.id, exp: Math.floor(Date.now() / 1000) + 60 },
        client.jwtSecret,
        { algorithm: 'HS256', keyid: 'nope' },
      );
      expect((await new OtpClient(t, unknownKid).linkedMobileNumber()).body.message).toBe(
        'token key is unknown',
      );
      // An unregistered client still gets the fallback.
      expect((await new OtpClient(t, newPartnerUser().token).linkedMobileNumber()).status).toBe(
        404,
      );
    });

    it('takes ES256 and RS256 public keys, and refuses algorithm confusion', async () => {
      const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const ecPem = ec.publicKey.export({ type: 'spki', format: 'pem' }).toString();
      const ecFile = join(scratch, 'ec.pem');
      writeFileSync(ecFile, ecPem);
      const created = await cliOk(
        t,
        'clients:create',
        '--name',
        'Chess',
        '--public-key-file',
        ecFile,
      );
      expect(created.jwtKey).toEqual({ kid: expect.any(String), algorithm: 'ES256' });
      const id = created.client.id as string;
      const ecPrivate = ec.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

      const es = signedWith(ecPrivate, 'ES256', id, 'player', created.jwtKey.kid);
      expect((await new OtpClient(t, es).linkedMobileNumber()).status).toBe(404);
      expect(
        (await new OtpClient(t, signedWith(ecPrivate, 'ES256', id, 'player')).linkedMobileNumber())
          .status,
      ).toBe(404);

      // The public key as an HMAC secret: the classic confusion attack.
      const now = Math.floor(Date.now() / 1000);
      const confused = sign({ user_id: 'p', third_party_client_id: id, exp: now + 60 }, ecPem, {
        algorithm: 'HS256',
      });
      expect((await new OtpClient(t, confused).linkedMobileNumber()).body.message).toBe(
        'unsupported token algorithm',
      );

      const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
      const added = await adminApi(t, 'POST', `/clients/${id}/keys`, {
        body: { publicKey: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString() },
      });
      expect(added.status).toBe(201);
      expect(added.body).toEqual({ kid: expect.any(String), algorithm: 'RS256' });
      const rsPrivate = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
      const rs = signedWith(rsPrivate, 'RS256', id, 'player', added.body.kid as string);
      expect((await new OtpClient(t, rs).linkedMobileNumber()).status).toBe(404);
      // An RS256 token naming the ES256 key's kid.
      const mismatch = signedWith(rsPrivate, 'RS256', id, 'player', created.jwtKey.kid);
      expect((await new OtpClient(t, mismatch).linkedMobileNumber()).body.message).toBe(
        'unsupported token algorithm',
      );
      // token:mint needs an HS256 key; this client has none.
      const mint = await cli(t, 'token:mint', '--client', id, '--user', 'p');
      expect(mint.exitCode).toBe(EXIT.notFound);
    });

    it.each([
      [
        'a private key',
        () =>
          generateKeyPairSync('ec', { namedCurve: 'P-256' })
            .privateKey.export({ type: 'pkcs8', format: 'pem' })
            .toString(),
        'private key',
      ],
      [
        'a weak RSA key',
        () =>
          generateKeyPairSync('rsa', { modulusLength: 1024 })
            .publicKey.export({ type: 'spki', format: 'pem' })
            .toString(),
        '2048',
      ],
      [
        'another curve',
        () =>
          generateKeyPairSync('ec', { namedCurve: 'secp384r1' })
            .publicKey.export({ type: 'spki', format: 'pem' })
            .toString(),
        'P-256',
      ],
      [
        'garbage',
        () => '-----BEGIN PUBLIC KEY-----\nnope\n-----END PUBLIC KEY-----\n',
        'readable PEM',
      ],
    ])('refuses %s as a public key, on the CLI and the API', async (_name, pem, message) => {
      const file = join(scratch, 'key.pem');
      const text = pem();
      writeFileSync(file, text);
      const run = await cli(t, 'clients:create', '--name', 'X', '--public-key-file', file);
      expect(run.exitCode).toBe(EXIT.usage);
      expect(run.error?.details?.[0]).toEqual({
        field: 'publicKey',
        message: expect.stringContaining(message),
      });
      const res = await adminApi(t, 'POST', '/clients', { body: { name: 'X', publicKey: text } });
      expect(res.status).toBe(400);
      expect(res.body.error).toBe('VALIDATION_FAILED');
    });
  });

  describe('per-client settings', () => {
    it("limits a client's users to its own countries", async () => {
      const client = await registeredClient(t, '--allowed-countries', '+44');
      const app = new OtpClient(t, await mintedToken(t, client.id, 'player'));
      const india = await app.register(uniquePhone().national, '+91');
      expect(india.status).toBe(403);
      expect(india.body.error).toBe('COUNTRY_NOT_ALLOWED');
      expect((await app.register('7400123456', '+44')).status).toBe(200);
      // Other clients keep the service's policy.
      const other = new OtpClient(t, newPartnerUser().token);
      expect((await other.register(uniquePhone().national, '+91')).status).toBe(200);

      // The form of its frontend shows its countries; unknown or no client ids get the service's.
      const own = await http(t.url, 'GET', `/fe/users/auth/otp/config?clientId=${client.id}`);
      expect(own.body).toMatchObject({ allowedCountryCodes: ['+44'], allCountriesAllowed: false });
      for (const query of ['', '?clientId=nobody']) {
        const plain = await http(t.url, 'GET', `/fe/users/auth/otp/config${query}`);
        expect(plain.body).toMatchObject({ allowedCountryCodes: [], allCountriesAllowed: true });
      }
      const bad = await http(t.url, 'GET', `/fe/users/auth/otp/config?clientId=${'x'.repeat(129)}`);
      expect(bad.status).toBe(400);
      expect(bad.body.error).toBe('VALIDATION_FAILED');
    });

    it("stops a client's users at its hourly send budget, not other clients'", async () => {
      const client = await registeredClient(t, '--hourly-budget', '2');
      for (const user of ['a', 'b']) {
        const app = new OtpClient(t, await mintedToken(t, client.id, user));
        expect((await app.register(uniquePhone().national)).status).toBe(200);
      }
      const third = new OtpClient(t, await mintedToken(t, client.id, 'c'));
      const refused = await third.register(uniquePhone().national);
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({
        statusCode: 429,
        error: 'RATE_LIMITED',
        message: 'too many codes sent to this app; try again later',
        retryAfter: expect.any(Number),
      });
      expect(refused.headers['retry-after']).toBe(String(refused.body.retryAfter));
      expect(t.logs.some((line) => line.includes('otp_client_send_budget_exhausted'))).toBe(true);
      expect(
        (await new OtpClient(t, newPartnerUser().token).register(uniquePhone().national)).status,
      ).toBe(200);

      // Raised, the budget lets the same request through.
      await cliOk(t, 'clients:set', '--client', client.id, '--hourly-budget', '3');
      expect((await third.register(uniquePhone().national)).status).toBe(200);
      // "none" clears it: only the service-wide limits are left.
      const cleared = await cliOk(
        t,
        'clients:set',
        '--client',
        client.id,
        '--hourly-budget',
        'none',
      );
      expect(cleared.hourlySendBudget).toBeNull();
      const fourth = new OtpClient(t, await mintedToken(t, client.id, 'd'));
      expect((await fourth.register(uniquePhone().national)).status).toBe(200);
    });

    it('writes the SMS with its sender name and template, until they are cleared', async () => {
      const client = await registeredClient(
        t,
        '--sender-name',
        'Ludo King',
        '--template',
        '{app}: {code} is your code ({expires}). {code}',
      );
      const app = new OtpClient(t, await mintedToken(t, client.id, 'player'));
      // The token's second use: from here on the verified-token cache holds it.
      expect((await app.linkedMobileNumber()).status).toBe(404);
      const phone = uniquePhone();
      await app.register(phone.national);
      const sent = lastCodeFor(t.messagesFile, phone.e164);
      expect(sent.body).toBe(`Ludo King: ${sent.code} is your code (5 min). ${sent.code}`);

      const cleared = await adminApi(t, 'PATCH', `/clients/${client.id}`, {
        body: { senderName: null, messageTemplate: null },
      });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ senderName: null, messageTemplate: null });
      const other = uniquePhone();
      await app.register(other.national);
      // The registered name now (the minted token carries it too).
      expect(lastCodeFor(t.messagesFile, other.e164).body).toContain('to link your phone to Ludo.');

      // The CLI sets and clears them the same way ("" clears).
      await cliOk(t, 'clients:set', '--client', client.id, '--template', '{code} from {app}');
      const third = uniquePhone();
      await app.register(third.national);
      const templated = lastCodeFor(t.messagesFile, third.e164);
      expect(templated.body).toBe(`${templated.code} from Ludo`);
      const reset = await cliOk(
        t,
        'clients:set',
        '--client',
        client.id,
        '--template',
        '',
        '--sender-name',
        '',
      );
      expect(reset).toMatchObject({ senderName: null, messageTemplate: null });
    });

    it('writes the SMS in its text for the locale, then its default text, with its app hash last', async () => {
      const client = await registeredClient(
        t,
        '--template',
        '{code} is your {app} code',
        '--templates',
        '{"hi":"{code} आपका {app} कोड है"}',
        '--android-app-hash',
        'FA+9qCX9VSu',
      );
      expect(client.created.client).toMatchObject({
        messageTemplates: { hi: '{code} आपका {app} कोड है' },
        androidAppHash: 'FA+9qCX9VSu',
      });
      const token = await mintedToken(t, client.id, 'player');
      const registerIn = async (locale: string) => {
        const phone = uniquePhone();
        const res = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
          headers: { 'user-jwt-token': token },
          body: { phone_number: phone.national, countryCode: '+91', locale },
        });
        expect(res.status).toBe(200);
        return lastCodeFor(t.messagesFile, phone.e164);
      };
      const hindi = await registerIn('hi-IN');
      expect(hindi.body).toBe(`${hindi.code} आपका Ludo कोड है\nFA+9qCX9VSu`);
      // No text of its own in Spanish: its default text, still with the hash.
      const spanish = await registerIn('es');
      expect(spanish.body).toBe(`${spanish.code} is your Ludo code\nFA+9qCX9VSu`);

      const cleared = await adminApi(t, 'PATCH', `/clients/${client.id}`, {
        body: { messageTemplates: null, androidAppHash: null },
      });
      expect(cleared.status).toBe(200);
      expect(cleared.body).toMatchObject({ messageTemplates: null, androidAppHash: null });
      const after = await registerIn('hi');
      expect(after.body).toBe(`${after.code} is your Ludo code`);
    });
  });

  describe('the /admin API', () => {
    it('refuses requests without the admin key, or with a wrong one', async () => {
      for (const key of [null, '', 'wrong', `${TEST_ADMIN_KEY}x`]) {
        for (const [method, path] of [
          ['GET', '/clients'],
          ['POST', '/clients'],
          ['GET', '/links?phone=%2B919876543219'],
          ['DELETE', '/links/a/b'],
          ['GET', '/audit'],
        ]) {
          const res = await adminApi(t, method, path, {
            key,
            body: method === 'POST' ? {} : undefined,
          });
          expect({ path, status: res.status, error: res.body.error }).toEqual({
            path,
            status: 401,
            error: 'UN_AUTHORIZED',
          });
        }
      }
    });

    it('creates, lists a page at a time, shows and changes clients', async () => {
      const created = await adminApi(t, 'POST', '/clients', {
        body: {
          name: 'Carrom',
          id: 'carrom-studio',
          allowedCountryCodes: ['91'],
          hourlySendBudget: 100,
        },
      });
      expect(created.status).toBe(201);
      expect(created.body.client).toMatchObject({
        id: 'carrom-studio',
        allowedCountryCodes: ['+91'],
        hourlySendBudget: 100,
      });
      const again = await adminApi(t, 'POST', '/clients', {
        body: { name: 'Carrom', id: 'carrom-studio' },
      });
      expect(again.status).toBe(409);
      expect(again.body.error).toBe('CONFLICT');

      // Every client, page by page, each once.
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const page = await adminApi(
          t,
          'GET',
          `/clients?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(page.status).toBe(200);
        expect((page.body.items as unknown[]).length).toBeLessThanOrEqual(2);
        seen.push(...(page.body.items as Array<{ id: string }>).map((c) => c.id));
        cursor = page.body.nextCursor as string | null;
      } while (cursor);
      const [{ n }] = await t.dataSource.query(`SELECT count(*)::int AS n FROM partner_clients`);
      expect(seen).toHaveLength(n);
      expect(new Set(seen).size).toBe(n);
      expect(seen).toContain('carrom-studio');

      const changed = await adminApi(t, 'PATCH', '/clients/carrom-studio', {
        body: { name: 'Carrom Pro', allowedCountryCodes: [] },
      });
      expect(changed.body).toMatchObject({
        name: 'Carrom Pro',
        allowedCountryCodes: null,
        hourlySendBudget: 100,
      });
      const shown = await adminApi(t, 'GET', '/clients/carrom-studio');
      expect(shown.body).toEqual(changed.body);
      // androidAppHash is a public setting (the SMS carries it); no other hash may show.
      expect(JSON.stringify(shown.body)).not.toMatch(/secret|(?<!androidApp)hash|sealed/i);
      const audit = await cliOk(t, 'audit', '--client', 'carrom-studio');
      expect(
        (audit.items as Array<{ event: string; detail: string }>).map(
          (e) => `${e.event} ${e.detail}`,
        ),
      ).toEqual([
        'client_updated set name, allowedCountryCodes',
        expect.stringMatching(/^client_created key \w+ \(HS256\)$/),
      ]);
    });

    it('unlinks a partner user as an operator (audited), and says when there is nothing to unlink', async () => {
      const client = await registeredClient(t);
      const { phone } = await linkPhone(t, await mintedToken(t, client.id, 'player'));
      const res = await adminApi(t, 'DELETE', `/links/${client.id}/player`);
      expect(res.body).toEqual({ message: 'Users unlinked successfully', phone: phone.e164 });
      const again = await adminApi(t, 'DELETE', `/links/${client.id}/player`);
      expect(again.status).toBe(404);
      const cliAgain = await cli(t, 'links:unlink', '--client', client.id, '--user', 'player');
      expect(cliAgain.exitCode).toBe(EXIT.notFound);
      const [event] = (await cliOk(t, 'audit', '--phone', phone.e164, '--event', 'unlinked')).items;
      expect(event).toMatchObject({ actor: 'admin', clientId: client.id, userId: 'player' });
    });

    it('lists links of a client a page at a time, and finds one user', async () => {
      const client = await registeredClient(t);
      for (const user of ['u1', 'u2', 'u3'])
        await linkPhone(t, await mintedToken(t, client.id, user));
      const first = await cliOk(t, 'links:find', '--client', client.id, '--limit', '2');
      expect((first.items as Array<{ userId: string }>).map((l) => l.userId)).toEqual(['u1', 'u2']);
      const second = await cliOk(
        t,
        'links:find',
        '--client',
        client.id,
        '--cursor',
        first.nextCursor,
      );
      expect(second).toEqual({
        items: [expect.objectContaining({ userId: 'u3' })],
        nextCursor: null,
      });
      const one = await adminApi(t, 'GET', `/links?clientId=${client.id}&userId=u2`);
      expect(one.body.items).toEqual([
        expect.objectContaining({ clientId: client.id, userId: 'u2' }),
      ]);
    });

    it.each([
      ['no name', {}, 'name'],
      ['a name that is a number', { name: 7 }, 'name'],
      ['a name too long', { name: 'n'.repeat(101) }, 'name'],
      ['a blank name', { name: '   ' }, 'name'],
      ['an id with spaces', { name: 'X', id: 'a b' }, 'id'],
      ['an id with ___', { name: 'X', id: 'a___b' }, 'id'],
      ['an id too long', { name: 'X', id: 'i'.repeat(129) }, 'id'],
      ['countries not a list', { name: 'X', allowedCountryCodes: '+91' }, 'allowedCountryCodes'],
      [
        'a country code that is not one',
        { name: 'X', allowedCountryCodes: ['+9999'] },
        'allowedCountryCodes',
      ],
      [
        'a country code with letters',
        { name: 'X', allowedCountryCodes: ['+9a'] },
        'allowedCountryCodes',
      ],
      ['a budget of 0', { name: 'X', hourlySendBudget: 0 }, 'hourlySendBudget'],
      ['a budget as a string', { name: 'X', hourlySendBudget: '5' }, 'hourlySendBudget'],
      ['a fractional budget', { name: 'X', hourlySendBudget: 1.5 }, 'hourlySendBudget'],
      ['a template without {code}', { name: 'X', messageTemplate: 'hello' }, 'messageTemplate'],
      [
        'a template with an unknown placeholder',
        { name: 'X', messageTemplate: '{code} {secret}' },
        'messageTemplate',
      ],
      [
        'a sender name with a control character',
        { name: 'X', senderName: 'a\u0007b' },
        'senderName',
      ],
      ['a sender name too long', { name: 'X', senderName: 's'.repeat(31) }, 'senderName'],
      [
        'templates for a locale we have no texts in',
        { name: 'X', messageTemplates: { fr: '{code}' } },
        'messageTemplates.fr',
      ],
      [
        'a locale template without {code}',
        { name: 'X', messageTemplates: { hi: 'नमस्ते' } },
        'messageTemplates.hi',
      ],
      ['templates as a list', { name: 'X', messageTemplates: ['{code}'] }, 'messageTemplates'],
      [
        'a locale template that is not text',
        { name: 'X', messageTemplates: { es: 5 } },
        'messageTemplates.es',
      ],
      ['an app hash too short', { name: 'X', androidAppHash: 'FA+9qCX9VS' }, 'androidAppHash'],
      ['an app hash too long', { name: 'X', androidAppHash: 'FA+9qCX9VSuu' }, 'androidAppHash'],
      [
        'an app hash with a line break',
        { name: 'X', androidAppHash: 'FA+9qCX\n9VS' },
        'androidAppHash',
      ],
      ['an unknown algorithm', { name: 'X', algorithm: 'none' }, 'algorithm'],
      ['RS256 without a key', { name: 'X', algorithm: 'RS256' }, 'publicKey'],
    ])(
      'refuses a client with %s (400, naming the field, nothing stored)',
      async (_name, body, field) => {
        const [{ n: before }] = await t.dataSource.query(
          `SELECT count(*)::int AS n FROM partner_clients`,
        );
        const res = await adminApi(t, 'POST', '/clients', { body });
        expect(res.status).toBe(400);
        expect(res.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
        expect((res.body.details as Array<{ field: string }>).map((d) => d.field)).toContain(field);
        const [{ n: after }] = await t.dataSource.query(
          `SELECT count(*)::int AS n FROM partner_clients`,
        );
        expect(after).toBe(before);
      },
    );

    it('stores hostile text as plain text, and refuses bodies that are not JSON objects', async () => {
      const hostile = "Robert'); DROP TABLE partner_clients; --";
      const created = await adminApi(t, 'POST', '/clients', { body: { name: hostile } });
      expect(created.status).toBe(201);
      expect((await adminApi(t, 'GET', `/clients/${created.body.client.id}`)).body.name).toBe(
        hostile,
      );
      for (const body of ['not json', '[1,2]', '{"name":"X","__proto__":{"admin":true}}']) {
        const res = await adminApi(t, 'POST', '/clients', { body });
        expect(res.status).toBe(400);
        expect(res.body.error).toBe('VALIDATION_FAILED');
      }
      const huge = await adminApi(t, 'POST', '/clients', {
        body: { name: 'X', publicKey: 'k'.repeat(20_000) },
      });
      expect(huge.status).toBe(413);
      expect(huge.body.error).toBe('PAYLOAD_TOO_LARGE');
    });

    it.each([
      ['GET', '/clients?limit=abc', 400],
      ['GET', '/clients?status=deleted', 400],
      ['GET', '/clients?cursor=bm90LWEtY3Vyc29y', 400],
      ['GET', `/clients/${'c'.repeat(129)}`, 400],
      ['GET', '/clients/a%00b', 400],
      ['GET', '/links', 400],
      ['GET', '/links?phone=12345', 400],
      ['GET', "/links?phone=%2B91'%20OR%201=1", 400],
      ['GET', '/links?clientId=x&cursor=WyJub3BlIl0', 400],
      ['GET', '/audit?since=yesterday', 400],
      ['GET', '/audit?event=everything', 400],
      ['GET', '/audit?phone=%2B1', 400],
      // A cursor smuggling SQL in its id part.
      ['GET', '/audit?cursor=WyIyMDI2LTAxLTAxIDAwOjAwOjAwKzAwIiwiMSBPUiAxPTEiXQ', 400],
      // Values PostgreSQL itself would refuse (a 500 if they reached it).
      ['GET', '/links?clientId=a%00b', 400],
      ['GET', '/audit?userId=a%01b', 400],
      ['GET', `/audit?cursor=${encodeCursor(['2026-13-45 99:99:99+00', '1'])}`, 400],
      [
        'GET',
        `/audit?cursor=${encodeCursor(['2026-01-01 00:00:00+00', '9999999999999999999'])}`,
        400,
      ],
      ['GET', `/clients?cursor=${encodeCursor(['2026-01-01 00:00:00+00', 'a\u0000b'])}`, 400],
      ['PATCH', '/clients/some-id', 400],
      ['PATCH', '/clients/some-id', 400, { name: null }],
      ['PATCH', '/clients/some-id', 400, { allowedCountryCodes: [null] }],
      ['PATCH', '/clients/some-id', 400, { senderName: 7 }],
      ['POST', '/clients/x/keys/k/retire', 404],
      ['GET', "/clients/'%20OR%201=1%20--", 404],
      // `body` has a default so the test's arity stays 3: a 4th parameter would be taken for `done`.
    ])(
      'answers %s %s with %i, in the contract shape',
      async (method, path, status, body = undefined) => {
        const res = await adminApi(t, method, path, {
          body: method === 'PATCH' ? (body ?? { hourlySendBudget: -1 }) : undefined,
        });
        expect(res.status).toBe(status);
        expect(res.body).toMatchObject({
          statusCode: status,
          error: status === 400 ? 'VALIDATION_FAILED' : 'RECORD_NOT_FOUND',
          message: expect.any(String),
        });
      },
    );

    it('answers 404 for an unknown client on every client route', async () => {
      for (const [method, path] of [
        ['GET', '/clients/nobody'],
        ['PATCH', '/clients/nobody'],
        ['POST', '/clients/nobody/suspend'],
        ['POST', '/clients/nobody/activate'],
        ['POST', '/clients/nobody/keys'],
        ['POST', '/clients/nobody/keys/k/retire'],
        ['POST', '/clients/nobody/api-secret'],
      ]) {
        const res = await adminApi(t, method, path, { body: method === 'GET' ? undefined : {} });
        expect({ path, status: res.status, error: res.body.error }).toEqual({
          path,
          status: 404,
          error: 'RECORD_NOT_FOUND',
        });
      }
    });
  });

  describe('the CLI', () => {
    it('prints help, and answers bad usage with exit code 2', async () => {
      const help = await cli(t, '--help');
      expect(help.exitCode).toBe(0);
      for (const command of [
        'clients:create',
        'clients:rotate-key',
        'links:find',
        'audit',
        'token:mint',
      ]) {
        expect(help.stdout).toContain(command);
      }
      const commandHelp = await cli(t, 'clients:create', '--help');
      expect(commandHelp.stdout).toContain('--allowed-countries');

      for (const argv of [
        [],
        ['nope'],
        ['clients:create'],
        ['clients:create', '--name', 'X', '--hourly-budget', 'many'],
        ['clients:create', '--name', 'X', '--bogus'],
        ['clients:create', '--name', 'X', '--algorithm', 'none'],
        ['clients:list', '--status', 'deleted'],
        ['audit', '--since', 'yesterday'],
        ['links:find'],
        ['links:find', '--phone', '12345'],
        ['clients:create', '--name', 'X', '--public-key-file', '/no/such/file.pem'],
        ['clients:create', '--name', 'X', '--template', 'no code here'],
      ]) {
        const run = await cli(t, ...argv);
        expect({ argv, exitCode: run.exitCode }).toEqual({ argv, exitCode: EXIT.usage });
        expect(run.stdout).toBe('');
        expect(run.stderr).not.toBe('');
      }
    });

    it('answers not found with 3 and conflicts with 4, in JSON on stderr', async () => {
      const missing = await cli(t, 'clients:show', '--client', 'nobody');
      expect(missing).toMatchObject({ exitCode: EXIT.notFound, stdout: '' });
      expect(missing.error).toEqual({ error: 'RECORD_NOT_FOUND', message: 'no client "nobody"' });
      await cliOk(t, 'clients:create', '--name', 'X', '--id', 'taken-id');
      const taken = await cli(t, 'clients:create', '--name', 'X', '--id', 'taken-id');
      expect(taken.exitCode).toBe(EXIT.conflict);
      expect(taken.error?.error).toBe('CONFLICT');
    });
  });
});

describe('partner registry with the fallback off and no admin key', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ PARTNER_JWT_FALLBACK: 'false', ALLOWED_COUNTRY_CODES: '+91' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('refuses tokens of unregistered clients and verifies registered ones', async () => {
    const refused = await new OtpClient(t, newPartnerUser().token).linkedMobileNumber();
    expect(refused.body).toEqual({
      statusCode: 401,
      error: 'UN_AUTHORIZED',
      message: 'token client is not registered',
    });
    const client = await registeredClient(t);
    expect(
      (await new OtpClient(t, await mintedToken(t, client.id, 'p')).linkedMobileNumber()).status,
    ).toBe(404);
  });

  it("keeps a client inside the service's countries: its own list only narrows them", async () => {
    const client = await registeredClient(t, '--allowed-countries', '+44,+91');
    const app = new OtpClient(t, await mintedToken(t, client.id, 'p'));
    expect((await app.register('7400123456', '+44')).body.error).toBe('COUNTRY_NOT_ALLOWED');
    expect((await app.register(uniquePhone().national, '+91')).status).toBe(200);
    const config = (clientId: string) =>
      http(t.url, 'GET', `/fe/users/auth/otp/config?clientId=${clientId}`);
    expect((await config(client.id)).body).toMatchObject({
      allowedCountryCodes: ['+91'],
      allCountriesAllowed: false,
    });
    // Lists that do not meet leave no country at all, and the form says so.
    const ukOnly = await registeredClient(t, '--allowed-countries', '+44');
    expect((await config(ukOnly.id)).body).toMatchObject({
      allowedCountryCodes: [],
      allCountriesAllowed: false,
    });
    const uk = new OtpClient(t, await mintedToken(t, ukOnly.id, 'p'));
    expect((await uk.register(uniquePhone().national, '+91')).body.error).toBe(
      'COUNTRY_NOT_ALLOWED',
    );
  });

  it('has no /admin API: every admin route is not found, with or without a key', async () => {
    for (const headers of [{}, { 'x-admin-key': 'anything' }] as Array<Record<string, string>>) {
      const res = await http(t.url, 'GET', '/admin/clients', { headers });
      expect(res.status).toBe(404);
      expect(res.body.error).toBe('NOT_FOUND');
    }
  });
});
