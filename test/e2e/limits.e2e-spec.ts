import { OtpRetentionJob } from '@app/otp';
import { http, HttpResult } from '../support/http';
import {
  lastCodeFor,
  OtpClient,
  sentMessages,
  uniquePhone,
  wrongCode,
} from '../support/otp-client';
import { newPartnerUser, partnerToken, TokenClaims } from '../support/tokens';
import { startTestApp, TestApp } from '../support/test-app';

const HOUR = 3600;

/** A fresh partner user whose token outlives the hours these tests move the clock forward. */
function partner(claims: TokenClaims = {}) {
  const user = newPartnerUser(claims);
  const token = partnerToken(
    { ...claims, clientId: user.clientId, userId: user.userId },
    { expiresInSeconds: 24 * HOUR },
  );
  return { ...user, token };
}

/** A 429 RATE_LIMITED in the contract's shape, whose Retry-After header equals its body's retryAfter. */
function expectRateLimited(res: HttpResult, maxRetryAfter = HOUR): number {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    statusCode: 429,
    error: 'RATE_LIMITED',
    message: expect.any(String),
    retryAfter: expect.any(Number),
  });
  const retryAfter = res.body.retryAfter as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(maxRetryAfter);
  expect(res.headers['retry-after']).toBe(String(retryAfter));
  return retryAfter;
}

function sentTo(t: TestApp, e164: string): number {
  return sentMessages(t.messagesFile).filter((m) => m.to === e164).length;
}

async function count(t: TestApp, sql: string, params: unknown[] = []): Promise<number> {
  const [{ n }] = await t.dataSource.query<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM ${sql}`,
    params,
  );
  return n;
}

async function auditEvents(t: TestApp, user: { clientId: string; userId: string }) {
  const rows = await t.dataSource.query<Array<{ event: string }>>(
    `SELECT event FROM audit_events WHERE client_id = $1 AND user_id = $2 ORDER BY id`,
    [user.clientId, user.userId],
  );
  return rows.map((row) => row.event);
}

/** Registers and verifies: the user ends linked to the phone. */
async function link(t: TestApp, token: string, national: string, e164: string): Promise<void> {
  const app = new OtpClient(t, token);
  expect((await app.register(national)).status).toBe(200);
  const sent = lastCodeFor(t.messagesFile, e164);
  expect((await app.verify(national, sent.authCode, sent.code)).status).toBe(200);
}

describe('limits: per-phone hourly send limit', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ OTP_MAX_SENDS_PER_PHONE_PER_HOUR: '3' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('conflicts answer before limits: a linked user over a phone limit gets 409', async () => {
    const phone = uniquePhone();
    const linked = partner();
    await link(t, linked.token, phone.national, phone.e164); // send 1 of 3
    for (let i = 0; i < 2; i++) {
      expect((await new OtpClient(t, partner().token).register(phone.national)).status).toBe(200);
    }
    expect(sentTo(t, phone.e164)).toBe(3);
    // The phone is at its limit now: an unlinked user of another client is limited...
    expectRateLimited(await new OtpClient(t, partner().token).register(phone.national));

    // ... but the linked user is told about the conflict, for this phone and any other.
    const again = await new OtpClient(t, linked.token).register(phone.national);
    expect(again.status).toBe(409);
    expect(again.body).toEqual({
      statusCode: 409,
      error: 'ACCOUNT_ALREADY_LINKED',
      message: expect.any(String),
    });
    // A user of the same client as the linked one hits the phone's link first.
    const sameClient = partner({ clientId: linked.clientId });
    const taken = await new OtpClient(t, sameClient.token).register(phone.national);
    expect(taken.status).toBe(409);
    expect(taken.body).toMatchObject({ error: 'PHONE_ALREADY_LINKED' });
    expect(sentTo(t, phone.e164)).toBe(3);
  });

  it('3 users may have a code sent to one phone; the 4th is limited until the hour has passed', async () => {
    const phone = uniquePhone();
    for (let i = 0; i < 3; i++) {
      const res = await new OtpClient(t, partner().token).register(phone.national);
      expect(res.status).toBe(200);
      t.clock.advance(1);
    }
    expect(sentTo(t, phone.e164)).toBe(3);

    const fourth = partner();
    const app = new OtpClient(t, fourth.token);
    const challengesBefore = await count(t, 'otp_challenges');
    const refused = await app.register(phone.national);
    const retryAfter = expectRateLimited(refused);
    // The window ends an hour after the oldest of the 3 sends, 3 s ago.
    expect(retryAfter).toBeGreaterThan(HOUR - 10);
    expect(sentTo(t, phone.e164)).toBe(3);
    expect(await count(t, 'otp_challenges')).toBe(challengesBefore);
    expect(await auditEvents(t, fourth)).toEqual(['rate_limited']);

    // Resend is bound by the same limit, and so is the same phone written another way.
    expectRateLimited(await app.resend(phone.national));
    const spelled = `0${phone.national.slice(0, 5)}-${phone.national.slice(5)}`;
    expectRateLimited(await app.register(spelled, '91'));
    expect(sentTo(t, phone.e164)).toBe(3);

    // Another phone is not affected.
    const other = uniquePhone();
    expect((await app.register(other.national)).status).toBe(200);

    t.clock.advance(HOUR + 1);
    const later = await app.register(phone.national);
    expect(later.status).toBe(200);
    expect(sentTo(t, phone.e164)).toBe(4);
    expect(lastCodeFor(t.messagesFile, phone.e164).authCode).toBe(later.body.authCode);
  });
});

describe('limits: per-user hourly send limit', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      OTP_MAX_SENDS_PER_USER_PER_HOUR: '3',
      OTP_RESEND_COOLDOWN_SECONDS: '1',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('counts sends across phones; the 4th is limited until the hour has passed', async () => {
    const user = partner();
    const app = new OtpClient(t, user.token);
    const first = uniquePhone();
    expect((await app.register(first.national)).status).toBe(200);
    t.clock.advance(2);
    // A resend of the same challenge counts too.
    expect((await app.resend(first.national)).status).toBe(200);
    t.clock.advance(2);
    expect((await app.register(uniquePhone().national)).status).toBe(200);
    t.clock.advance(2);

    const fourth = uniquePhone();
    const before = sentMessages(t.messagesFile).length;
    const refused = await app.register(fourth.national);
    const retryAfter = expectRateLimited(refused);
    expect(retryAfter).toBeGreaterThan(HOUR - 10);
    // The cooldown has passed, so a resend is refused by the limit, not as too soon.
    expectRateLimited(await app.resend(first.national));
    expect(sentMessages(t.messagesFile)).toHaveLength(before);
    expect(await auditEvents(t, user)).toContain('rate_limited');

    // Other users are not affected, not even the same user id in another client.
    expect((await new OtpClient(t, partner().token).register(fourth.national)).status).toBe(200);
    const namesake = partner({ userId: user.userId });
    expect((await new OtpClient(t, namesake.token).register(uniquePhone().national)).status).toBe(
      200,
    );

    t.clock.advance(HOUR + 1);
    expect((await app.register(fourth.national)).status).toBe(200);
  });
});

describe('limits: per number block hourly send limit (sequential numbers)', () => {
  const LIMIT = 3;
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      OTP_MAX_SENDS_PER_PREFIX_PER_HOUR: String(LIMIT),
      HTTP_RATE_LIMIT_PER_MINUTE: '100000',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  /** `count` numbers of one fresh block of 10 000 (all but the last four digits shared). */
  function block(count: number): Array<{ national: string; e164: string }> {
    const first = uniquePhone().national.slice(0, -4);
    return Array.from({ length: count }, (_, i) => {
      const national = `${first}${String(i).padStart(4, '0')}`;
      return { national, e164: `+91${national}` };
    });
  }

  it(`${LIMIT} numbers of one block get codes; the next, for another user, is limited; another block is not`, async () => {
    const phones = block(LIMIT + 1);
    for (const phone of phones.slice(0, LIMIT)) {
      expect((await new OtpClient(t, partner().token).register(phone.national)).status).toBe(200);
    }
    const last = phones[LIMIT];
    expectRateLimited(await new OtpClient(t, partner().token).register(last.national));
    expect(sentTo(t, last.e164)).toBe(0);
    const [elsewhere] = block(1);
    expect((await new OtpClient(t, partner().token).register(elsewhere.national)).status).toBe(200);

    t.clock.advance(HOUR + 1);
    expect((await new OtpClient(t, partner().token).register(last.national)).status).toBe(200);
  });

  // The block's count is exact only under its own lock: without it, concurrent registers all
  // read "under the limit" and all send.
  it(`100 users registering 100 numbers of one block at once: exactly ${LIMIT} are sent`, async () => {
    const phones = block(100);
    const answers = await Promise.all(
      phones.map((phone) => new OtpClient(t, partner().token).register(phone.national)),
    );
    expect(answers.filter((res) => res.status === 200)).toHaveLength(LIMIT);
    for (const res of answers.filter((res) => res.status !== 200)) expectRateLimited(res);
    const prefix = phones[0].e164.slice(0, -4);
    expect(await count(t, 'otp_sends WHERE target_block = $1', [prefix])).toBe(LIMIT);
  });
});

describe('limits: global hourly send budget', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ OTP_MAX_SENDS_PER_HOUR: '2' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('the send past the budget is refused for anyone, with an alert line in the log', async () => {
    const linked = partner();
    const linkedPhone = uniquePhone();
    await link(t, linked.token, linkedPhone.national, linkedPhone.e164); // send 1 of 2
    expect((await new OtpClient(t, partner().token).register(uniquePhone().national)).status).toBe(
      200,
    );
    expect(t.logs.join('\n')).not.toContain('otp_global_send_budget_exhausted');

    const before = sentMessages(t.messagesFile).length;
    const phone = uniquePhone();
    expectRateLimited(await new OtpClient(t, partner().token).register(phone.national));
    expectRateLimited(await new OtpClient(t, partner().token).resend(phone.national));
    expect(sentMessages(t.messagesFile)).toHaveLength(before);

    const alerts = t.logs.filter((line) =>
      line.includes('"alert":"otp_global_send_budget_exhausted"'),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(1);
    for (const line of alerts) {
      expect(JSON.parse(line)).toMatchObject({ level: 'error' });
      expect(line).not.toContain(phone.national);
    }

    // Conflicts still answer first.
    const again = await new OtpClient(t, linked.token).register(uniquePhone().national);
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ error: 'ACCOUNT_ALREADY_LINKED' });

    t.clock.advance(HOUR + 1);
    expect((await new OtpClient(t, partner().token).register(phone.national)).status).toBe(200);
  });

  // Near the budget, registers serialise on one lock, so concurrency cannot overshoot it.
  it('40 users registering 40 phones at once: exactly the budget is sent', async () => {
    t.clock.advance(HOUR + 1); // a fresh window
    const messagesBefore = sentMessages(t.messagesFile).length;
    const sendsBefore = await count(t, 'otp_sends');
    const answers = await Promise.all(
      Array.from({ length: 40 }, () =>
        new OtpClient(t, partner().token).register(uniquePhone().national),
      ),
    );
    expect(answers.filter((res) => res.status === 200)).toHaveLength(2);
    for (const res of answers.filter((r) => r.status !== 200)) expectRateLimited(res);
    expect(sentMessages(t.messagesFile)).toHaveLength(messagesBefore + 2);
    expect(await count(t, 'otp_sends')).toBe(sendsBefore + 2);
  });
});

describe("limits: the budgets' counters", () => {
  // 1000 sends an hour, the exact count from 800 (the lock margin is 200).
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ OTP_MAX_SENDS_PER_HOUR: '1000' });
  });

  afterAll(async () => {
    await t.close();
  });

  const counted = () =>
    t.dataSource.query<Array<{ scope: string; sends: number }>>(
      `SELECT scope, sum(sends)::int AS sends FROM otp_send_counts GROUP BY scope ORDER BY scope`,
    );

  it('count every send for the service and for its client', async () => {
    const user = partner();
    await new OtpClient(t, user.token).register(uniquePhone().national);
    await new OtpClient(t, partner({ clientId: user.clientId }).token).register(
      uniquePhone().national,
    );
    expect(await counted()).toEqual(
      expect.arrayContaining([
        { scope: `client:${user.clientId}`, sends: 2 },
        { scope: 'service', sends: 2 },
      ]),
    );
  });

  it('decide only far from the budget: near it, the exact count of the sends does', async () => {
    // Counters over the budget (they over-estimate: a bucket still covered holds sends that
    // left the hour): the exact count, 2 sends in the hour, lets the register through.
    await t.dataSource.query(
      `INSERT INTO otp_send_counts (scope, bucket, shard, sends)
       VALUES ('service', otp_send_bucket($1), 7, 1003)
       ON CONFLICT ON CONSTRAINT pk_otp_send_counts DO UPDATE SET sends = 1003`,
      [t.clock.now()],
    );
    expect((await new OtpClient(t, partner().token).register(uniquePhone().national)).status).toBe(
      200,
    );
    expect(t.logs.join('\n')).not.toContain('otp_global_send_budget_exhausted');
  });

  it('are purged with the sends after two hours', async () => {
    t.clock.advance(2 * HOUR + 1);
    await t.app.get(OtpRetentionJob).purgeOnce();
    expect(await counted()).toEqual([]);
    expect((await new OtpClient(t, partner().token).register(uniquePhone().national)).status).toBe(
      200,
    );
  });
});

describe('limits under concurrency', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({
      OTP_MAX_SENDS_PER_PHONE_PER_HOUR: '5',
      HTTP_RATE_LIMIT_PER_MINUTE: '100000',
      OTP_MAX_FAILED_VERIFIES_PER_PHONE_PER_HOUR: '3',
      OTP_MAX_ATTEMPTS: '5',
    });
  });

  afterAll(async () => {
    await t.close();
  });

  it('200 users registering one phone at once: exactly 5 codes are sent', async () => {
    const phone = uniquePhone();
    const users = Array.from({ length: 200 }, () => partner());
    const answers = await Promise.all(
      users.map((user) => new OtpClient(t, user.token).register(phone.national)),
    );
    const ok = answers.filter((res) => res.status === 200);
    const limited = answers.filter((res) => res.status !== 200);
    expect(ok).toHaveLength(5);
    expect(limited).toHaveLength(195);
    for (const res of limited) expectRateLimited(res);
    expect(sentTo(t, phone.e164)).toBe(5);
    expect(await count(t, 'otp_sends WHERE target = $1', [phone.e164])).toBe(5);
    expect(await count(t, 'otp_challenges WHERE target = $1', [phone.e164])).toBe(5);
    expect(new Set(ok.map((res) => res.body.authCode)).size).toBe(5);
  });

  it('10 resends of one challenge at once, after the cooldown: exactly one is sent', async () => {
    const user = partner();
    const phone = uniquePhone();
    const app = new OtpClient(t, user.token);
    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    t.clock.advance(31);

    const answers = await Promise.all(Array.from({ length: 10 }, () => app.resend(phone.national)));
    const ok = answers.filter((res) => res.status === 200);
    const tooSoon = answers.filter((res) => res.status !== 200);
    expect(ok).toHaveLength(1);
    expect(ok[0].body.authCode).toBe(registered.body.authCode);
    expect(tooSoon).toHaveLength(9);
    for (const res of tooSoon) {
      expect(res.status).toBe(429);
      expect(res.body).toEqual({
        statusCode: 429,
        error: 'RESEND_TOO_SOON',
        message: expect.any(String),
        retryAfter: expect.any(Number),
      });
      expect(res.body.retryAfter).toBeGreaterThanOrEqual(1);
      expect(res.body.retryAfter).toBeLessThanOrEqual(30);
      expect(res.headers['retry-after']).toBe(String(res.body.retryAfter));
    }
    expect(sentTo(t, phone.e164)).toBe(2);
    expect(await count(t, 'otp_sends WHERE target = $1', [phone.e164])).toBe(2);
    expect(await count(t, 'otp_challenges WHERE target = $1', [phone.e164])).toBe(1);
  });

  // OTP_MAX_FAILED_VERIFIES_PER_PHONE_PER_HOUR: re-registering does not renew the guessing budget.
  it('wrong codes for one phone across challenges are limited per hour (3 here)', async () => {
    const phone = uniquePhone();
    const start = async () => {
      const app = new OtpClient(t, partner().token);
      expect((await app.register(phone.national)).status).toBe(200);
      const sent = lastCodeFor(t.messagesFile, phone.e164);
      return { app, authCode: sent.authCode, wrong: wrongCode(sent.code) };
    };
    const a = await start();
    const b = await start();
    const answers = [
      await a.app.verify(phone.national, a.authCode, a.wrong),
      await a.app.verify(phone.national, a.authCode, a.wrong),
      await b.app.verify(phone.national, b.authCode, b.wrong),
    ];
    expect(answers.map((res) => res.body.error)).toEqual([
      'INVALID_OTP',
      'INVALID_OTP',
      'INVALID_OTP',
    ]);
    // Both challenges still have attempts left, but the phone has had its 3 wrong codes.
    expectRateLimited(await b.app.verify(phone.national, b.authCode, b.wrong));
  });
});

describe('limits: per-IP request limit on /fe/', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_RATE_LIMIT_PER_MINUTE: '5' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('the 6th /fe/ request in a minute is refused; /health is not limited', async () => {
    const app = new OtpClient(t, partner().token);
    const config = () => http(t.url, 'GET', '/fe/users/auth/otp/config');
    const passed = [
      await config(),
      await app.register(uniquePhone().national),
      await config(),
      await app.register(uniquePhone().national),
      await config(),
    ];
    expect(passed.map((res) => res.status)).toEqual([200, 200, 200, 200, 200]);

    const sixth = await config();
    const retryAfter = expectRateLimited(sixth, 60);
    expect(retryAfter).toBeGreaterThanOrEqual(1);

    // Every /fe/ route shares the one bucket, and a limited register sends nothing.
    const before = sentMessages(t.messagesFile).length;
    expectRateLimited(await app.register(uniquePhone().national), 60);
    expectRateLimited(await app.linkedMobileNumber(), 60);
    // Without TRUST_PROXY a forged X-Forwarded-For does not buy a fresh bucket.
    const forged = await http(t.url, 'GET', '/fe/users/auth/otp/config', {
      headers: { 'x-forwarded-for': '203.0.113.7' },
    });
    expectRateLimited(forged, 60);
    expect(sentMessages(t.messagesFile)).toHaveLength(before);

    for (let i = 0; i < 3; i++) {
      const health = await http(t.url, 'GET', '/health');
      expect(health.status).toBe(200);
    }
  });
});
