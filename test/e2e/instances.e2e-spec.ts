import { decodeJwt } from 'jose';
import { randomInt } from 'node:crypto';
import { request } from 'node:http';
import { Redis } from 'ioredis';
import { HttpResult } from '../support/http';
import {
  OtpClient,
  SentMessage,
  sentMessages,
  uniquePhone,
  wrongCode,
} from '../support/otp-client';
import { e2eDatabase } from '../support/test-database';
import { startTestApp, TestApp } from '../support/test-app';
import { newPartnerUser } from '../support/tokens';
import { eventually } from '../support/eventually';
import { PARTNER_CACHE_TTL_MS } from '@app/partners';
import { cliOk, mintedToken, registeredClient } from '../support/admin';

/*
 * Two API instances on one database: every limit and linking rule must hold across them, since
 * each is enforced by the database (and, for the per-IP limit, by the shared Redis).
 *
 * Only on PostgreSQL: the embedded database (PGlite) is one session inside one process, so
 * there is no database two instances could share; the embedded project skips this file.
 */
const describeOnSharedDatabase = e2eDatabase() === 'embedded' ? describe.skip : describe;

/**
 * The shared per-IP limit needs a real Redis: it runs when REDIS_URL_FOR_TESTS names one (CI
 * sets it, like TEST_DATABASE_URL for PostgreSQL); a machine without Redis skips that part.
 */
const REDIS_URL = process.env.REDIS_URL_FOR_TESTS ?? '';
const describeWithRedis = REDIS_URL ? describeOnSharedDatabase : describe.skip;
const MAX_SENDS_PER_PHONE = 5;
const MAX_ATTEMPTS = 5;
const COOLDOWN = 30;

/** Both instances' messages, oldest first. */
function messagesOf(...apps: TestApp[]): SentMessage[] {
  return apps
    .flatMap((app) => sentMessages(app.messagesFile))
    .sort((x, y) => Date.parse(x.at) - Date.parse(y.at));
}

function lastCode(apps: TestApp[], e164: string): SentMessage {
  const message = messagesOf(...apps)
    .filter((m) => m.to === e164)
    .pop();
  if (!message) throw new Error(`no message was sent to ${e164}`);
  return message;
}

function expectErrorCode(res: HttpResult, status: number, error: string): void {
  expect({ status: res.status, error: res.body.error }).toEqual({ status, error });
  expect(res.body.statusCode).toBe(status);
}

describeOnSharedDatabase('two instances on one database', () => {
  let a: TestApp;
  let b: TestApp;
  const env = {
    OTP_MAX_SENDS_PER_PHONE_PER_HOUR: String(MAX_SENDS_PER_PHONE),
    OTP_MAX_ATTEMPTS: String(MAX_ATTEMPTS),
    OTP_RESEND_COOLDOWN_SECONDS: String(COOLDOWN),
  };

  beforeAll(async () => {
    a = await startTestApp(env);
    b = await startTestApp(env, { database: a.database });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close(); // drops the database
  });

  /** Both instances' clocks move together, as NTP-synchronised hosts' would. */
  const advance = (seconds: number) => {
    a.clock.advance(seconds);
    b.clock.advance(seconds);
  };
  const on = (app: TestApp, token: string) => new OtpClient(app, token);
  const alternate = (i: number) => (i % 2 === 0 ? a : b);

  async function count(sql: string, params: unknown[]): Promise<number> {
    const [{ n }] = await a.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM ${sql}`,
      params,
    );
    return n;
  }

  it('the two apps really share one database', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const registered = await on(a, user.token).register(phone.national);
    expect(registered.status).toBe(200);
    const [row] = await b.dataSource.query<Array<{ n: number }>>(
      `SELECT count(*)::int AS n FROM otp_challenges WHERE auth_code = $1`,
      [registered.body.authCode],
    );
    expect(row.n).toBe(1);
  });

  it('per-phone send limit: registers alternating A and B, exactly the limit succeed', async () => {
    const phone = uniquePhone();
    const answers: HttpResult[] = [];
    for (let i = 0; i < MAX_SENDS_PER_PHONE + 3; i++) {
      answers.push(await on(alternate(i), newPartnerUser().token).register(phone.national));
    }
    expect(answers.map((res) => res.status)).toEqual([
      ...Array<number>(MAX_SENDS_PER_PHONE).fill(200),
      429,
      429,
      429,
    ]);
    for (const res of answers.slice(MAX_SENDS_PER_PHONE)) {
      expectErrorCode(res, 429, 'RATE_LIMITED');
    }
    expect(messagesOf(a, b).filter((m) => m.to === phone.e164)).toHaveLength(MAX_SENDS_PER_PHONE);
    expect(await count('otp_sends WHERE target = $1', [phone.e164])).toBe(MAX_SENDS_PER_PHONE);
  });

  it('per-phone send limit: 40 users registering one phone at once on A and B, exactly the limit succeed', async () => {
    const phone = uniquePhone();
    const answers = await Promise.all(
      Array.from({ length: 40 }, (_, i) =>
        on(alternate(i), newPartnerUser().token).register(phone.national),
      ),
    );
    expect(answers.filter((res) => res.status === 200)).toHaveLength(MAX_SENDS_PER_PHONE);
    for (const res of answers.filter((r) => r.status !== 200)) {
      expectErrorCode(res, 429, 'RATE_LIMITED');
    }
    expect(messagesOf(a, b).filter((m) => m.to === phone.e164)).toHaveLength(MAX_SENDS_PER_PHONE);
    expect(await count('otp_sends WHERE target = $1', [phone.e164])).toBe(MAX_SENDS_PER_PHONE);
  });

  it('20 wrong verifies at once, split across A and B, count exactly OTP_MAX_ATTEMPTS', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    expect((await on(a, user.token).register(phone.national)).status).toBe(200);
    const sent = lastCode([a, b], phone.e164);
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        on(alternate(i), user.token).verify(phone.national, sent.authCode, wrongCode(sent.code)),
      ),
    );
    const invalid = answers.filter((res) => res.body.error === 'INVALID_OTP');
    const locked = answers.filter((res) => res.body.error === 'TOO_MANY_ATTEMPTS');
    expect(invalid.map((res) => res.body.attemptsLeft).sort()).toEqual([0, 1, 2, 3, 4]);
    expect(locked).toHaveLength(20 - MAX_ATTEMPTS);
    for (const res of locked) expectErrorCode(res, 429, 'TOO_MANY_ATTEMPTS');
    const [row] = await b.dataSource.query<Array<{ attempts: number; status: string }>>(
      `SELECT attempts, status FROM otp_challenges WHERE auth_code = $1`,
      [sent.authCode],
    );
    expect(row).toEqual({ attempts: MAX_ATTEMPTS, status: 'locked' });
    // Locked everywhere, even against the right code.
    for (const app of [a, b]) {
      const res = await on(app, user.token).verify(phone.national, sent.authCode, sent.code);
      expectErrorCode(res, 429, 'TOO_MANY_ATTEMPTS');
    }
  });

  it('users of one client racing to link one phone via A and B: exactly one link', async () => {
    for (let round = 0; round < 5; round++) {
      const phone = uniquePhone();
      const first = newPartnerUser();
      const users = [
        first,
        ...Array.from({ length: 3 }, () => newPartnerUser({ clientId: first.clientId })),
      ];
      const codes: SentMessage[] = [];
      for (const [i, user] of users.entries()) {
        expect((await on(alternate(i), user.token).register(phone.national)).status).toBe(200);
        codes.push(lastCode([a, b], phone.e164));
      }
      const answers = await Promise.all(
        users.map((user, i) =>
          on(alternate(i), user.token).verify(phone.national, codes[i].authCode, codes[i].code),
        ),
      );
      expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
      for (const res of answers.filter((r) => r.status !== 200)) {
        expectErrorCode(res, 409, 'PHONE_ALREADY_LINKED');
      }
      expect(
        await count(
          `links l JOIN phone_users p ON p.id = l.phone_user_id
            WHERE p.phone_e164 = $1 AND l.client_id = $2`,
          [phone.e164, first.clientId],
        ),
      ).toBe(1);
    }
  });

  it('one user racing to link two phones via A and B: exactly one link', async () => {
    for (let round = 0; round < 5; round++) {
      const user = newPartnerUser();
      const phones = [uniquePhone(), uniquePhone()];
      const codes: SentMessage[] = [];
      for (const [i, phone] of phones.entries()) {
        expect((await on(alternate(i), user.token).register(phone.national)).status).toBe(200);
        codes.push(lastCode([a, b], phone.e164));
      }
      const answers = await Promise.all(
        phones.map((phone, i) =>
          on(alternate(i), user.token).verify(phone.national, codes[i].authCode, codes[i].code),
        ),
      );
      expect(answers.map((res) => res.status).sort()).toEqual([200, 409]);
      expectErrorCode(
        answers.find((res) => res.status === 409) as HttpResult,
        409,
        'ACCOUNT_ALREADY_LINKED',
      );
      expect(
        await count(
          `links l JOIN third_party_users u ON u.id = l.third_party_user_id
            WHERE u.client_id = $1 AND u.user_id = $2`,
          [user.clientId, user.userId],
        ),
      ).toBe(1);
    }
  });

  it('a challenge created on A verifies on B, and A then shows the link', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const registered = await on(a, user.token).register(phone.national);
    expect(registered.status).toBe(200);
    const sent = lastCode([a, b], phone.e164);
    expect(sent.authCode).toBe(registered.body.authCode);

    const verified = await on(b, user.token).verify(phone.national, sent.authCode, sent.code);
    expect(verified.status).toBe(200);
    expect(verified.body).toMatchObject({ message: 'Users linked successfully', isNewUser: true });

    const linked = await on(a, user.token).linkedMobileNumber();
    expect(linked.status).toBe(200);
    expect(linked.body).toMatchObject({
      UserID: user.userId,
      LinkedPhone: phone.national,
      PhoneUserId: verified.body.userId,
    });
    // The repeat on A answers what B answered: the same fields, and a verificationToken with the
    // same claims (ECDSA signatures differ from one signing to the next; an instance repeats its
    // own bytes, another signs the same claims again).
    const again = await on(a, user.token).verify(phone.national, sent.authCode, sent.code);
    expect(again.status).toBe(200);
    const { verificationToken, ...rest } = again.body;
    const { verificationToken: first, ...firstRest } = verified.body;
    expect(rest).toEqual(firstRest);
    expect(decodeJwt(verificationToken as string)).toEqual(decodeJwt(first as string));
  });

  it('the resend cooldown holds across instances', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const registered = await on(a, user.token).register(phone.national);
    expect(registered.status).toBe(200);
    const firstCode = lastCode([a, b], phone.e164);

    const tooSoon = await on(b, user.token).resend(phone.national);
    expectErrorCode(tooSoon, 429, 'RESEND_TOO_SOON');
    expect(tooSoon.body.retryAfter).toBeGreaterThanOrEqual(COOLDOWN - 1);
    expect(tooSoon.body.retryAfter).toBeLessThanOrEqual(COOLDOWN);
    expect(tooSoon.headers['retry-after']).toBe(String(tooSoon.body.retryAfter));

    advance(10);
    // A register with a live challenge is a resend: the cooldown applies on B too.
    const registerAgain = await on(b, user.token).register(phone.national);
    expectErrorCode(registerAgain, 429, 'RESEND_TOO_SOON');
    expect(registerAgain.body.retryAfter).toBeLessThanOrEqual(COOLDOWN - 10);

    advance(COOLDOWN - 10);
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => on(alternate(i), user.token).resend(phone.national)),
    );
    const resent = answers.filter((res) => res.status === 200);
    expect(resent).toHaveLength(1);
    expect(resent[0].body.authCode).toBe(registered.body.authCode);
    for (const res of answers.filter((r) => r.status !== 200)) {
      expectErrorCode(res, 429, 'RESEND_TOO_SOON');
    }
    expect(await count('otp_sends WHERE target = $1', [phone.e164])).toBe(2);

    const secondCode = lastCode([a, b], phone.e164);
    expect(secondCode.code).not.toBe(firstCode.code);
    const old = await on(a, user.token).verify(phone.national, firstCode.authCode, firstCode.code);
    expectErrorCode(old, 400, 'INVALID_OTP');
    const ok = await on(b, user.token).verify(phone.national, secondCode.authCode, secondCode.code);
    expect(ok.status).toBe(200);
  });

  it('10 registers of one (user, phone) at once on A and B start one challenge', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => on(alternate(i), user.token).register(phone.national)),
    );
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
    for (const res of answers.filter((r) => r.status !== 200)) {
      expectErrorCode(res, 429, 'RESEND_TOO_SOON');
    }
    expect(
      await count('otp_challenges WHERE client_id = $1 AND user_id = $2', [
        user.clientId,
        user.userId,
      ]),
    ).toBe(1);
  });

  describe('the partner registry', () => {
    const refuses = (app: TestApp, token: string) => async () =>
      (await on(app, token).linkedMobileNumber()).status === 401;

    it("a client suspended or a key retired through A is refused by B at once, not at B's cache expiry", async () => {
      const client = await registeredClient(a);
      const oldToken = await mintedToken(a, client.id, 'player');
      expect((await on(b, oldToken).linkedMobileNumber()).status).toBe(404); // cached on B

      const started = Date.now();
      await cliOk(a, 'clients:suspend', '--client', client.id);
      await eventually(refuses(b, oldToken), PARTNER_CACHE_TTL_MS / 2);
      expect(Date.now() - started).toBeLessThan(PARTNER_CACHE_TTL_MS / 2);
      await cliOk(a, 'clients:activate', '--client', client.id);
      await eventually(async () => !(await refuses(b, oldToken)()));

      const added = await cliOk(a, 'clients:rotate-key', '--client', client.id);
      const newToken = await mintedToken(a, client.id, 'player', '--kid', added.kid as string);
      await eventually(async () => (await on(b, newToken).linkedMobileNumber()).status === 404);
      await cliOk(a, 'clients:retire-key', '--client', client.id, '--kid', client.kid);
      await eventually(refuses(b, oldToken), PARTNER_CACHE_TTL_MS / 2);
      expect((await on(b, newToken).linkedMobileNumber()).status).toBe(404);
    });

    it('after its listening connection is cut, an instance forgets its cache and hears changes again', async () => {
      const client = await registeredClient(a);
      const token = await mintedToken(a, client.id, 'player');
      expect((await on(b, token).linkedMobileNumber()).status).toBe(404);
      const terminated = await a.dataSource.query<Array<{ pid: number }>>(
        `SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
          WHERE application_name = 'otp-link-listener' AND datname = current_database()`,
      );
      expect(terminated).toHaveLength(2); // A's and B's
      // Both reconnect (backoff starts at 0.5 s) and listen again.
      await eventually(async () => {
        const [{ n }] = await a.dataSource.query<Array<{ n: number }>>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
            WHERE application_name = 'otp-link-listener' AND datname = current_database()`,
        );
        return n === 2;
      });
      await cliOk(a, 'clients:suspend', '--client', client.id);
      await eventually(refuses(b, token), PARTNER_CACHE_TTL_MS / 2);
    });
  });
});

describeWithRedis('two instances sharing the per-IP limit through Redis', () => {
  const LIMIT = 6;
  const KEY_PREFIX = 'otp-link:throttle:';
  let a: TestApp;
  let b: TestApp;
  let redis: Redis;
  // The limiter keys on the client IP (otp-link:throttle:{default:ip:<ip>}, prefix fixed by the
  // app). Loopback is all of 127.0.0.0/8, so requests leave from an address of their own: other
  // test runs sharing this Redis (from 127.0.0.1 or their own address) cannot touch its bucket.
  const ip = () => `127.${randomInt(1, 255)}.${randomInt(0, 256)}.${randomInt(1, 255)}`;
  const addresses = [ip(), ip()];

  beforeAll(async () => {
    redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await redis.connect();
      await redis.ping();
    } catch (error) {
      redis.disconnect();
      throw new Error(
        `Redis is not reachable at ${REDIS_URL} (${String(error)}): start one or set REDIS_URL_FOR_TESTS.`,
      );
    }
    const env = { REDIS_URL, HTTP_RATE_LIMIT_PER_MINUTE: String(LIMIT) };
    a = await startTestApp(env);
    b = await startTestApp(env, { database: a.database });
  });

  afterAll(async () => {
    await b?.close();
    await a?.close();
    if (redis?.status === 'ready') {
      for (const address of addresses) {
        const record = `${KEY_PREFIX}{default:ip:${address}}`;
        await redis.del(record, `${record}:hits:default`);
      }
      await redis.quit();
    }
  });

  /** GET /fe/users/auth/otp/config from `localAddress`. */
  function config(app: TestApp, localAddress: string): Promise<HttpResult> {
    return new Promise((resolve, reject) => {
      const req = request(
        `${app.url}/fe/users/auth/otp/config`,
        { localAddress, agent: false, timeout: 5_000 },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              headers: res.headers as Record<string, string>,
              body: JSON.parse(text) as Record<string, unknown>,
              text,
            }),
          );
        },
      );
      req.on('timeout', () => req.destroy(new Error('no answer in 5 s')));
      req.on('error', reject);
      req.end();
    });
  }

  it(`one IP gets ${LIMIT} /fe/ requests a minute across A and B together`, async () => {
    const [mine, other] = addresses;
    const passed: number[] = [];
    for (let i = 0; i < LIMIT; i++) {
      passed.push((await config(i % 2 === 0 ? a : b, mine)).status);
    }
    expect(passed).toEqual(Array<number>(LIMIT).fill(200));

    for (const app of [a, b]) {
      const limited = await config(app, mine);
      expectErrorCode(limited, 429, 'RATE_LIMITED');
      expect(limited.body.retryAfter).toBeGreaterThanOrEqual(1);
      expect(limited.body.retryAfter).toBeLessThanOrEqual(60);
      expect(limited.headers['retry-after']).toBe(String(limited.body.retryAfter));
    }
    // Another IP has a bucket of its own.
    expect((await config(b, other)).status).toBe(200);
    expect((await config(a, other)).status).toBe(200);
  });
});
