import { http, HttpResult } from '../support/http';
import { cli, cliOk } from '../support/admin';
import { lastCodeFor, OtpClient, uniquePhone, wrongCode } from '../support/otp-client';
import { newPartnerUser, partnerToken } from '../support/tokens';
import { startTestApp, TestApp } from '../support/test-app';

/*
 * What the hostile review of the running service found in the engine's limits (issue 13, items
 * 2, 3 and 8), each as the abuser would try it. Every test here failed before its fix.
 */

const HOUR = 3600;

/** A partner user of `clientId` (default: a client of its own) whose token outlives the clock moves. */
function user(clientId?: string) {
  const fresh = newPartnerUser(clientId ? { clientId } : {});
  const token = partnerToken(
    { clientId: fresh.clientId, userId: fresh.userId },
    { expiresInSeconds: 24 * HOUR },
  );
  return { ...fresh, token };
}

function expectRateLimited(res: HttpResult, message: RegExp): void {
  expect(res.status).toBe(429);
  expect(res.body).toEqual({
    statusCode: 429,
    error: 'RATE_LIMITED',
    message: expect.stringMatching(message),
    retryAfter: expect.any(Number),
  });
  expect(res.headers['retry-after']).toBe(String(res.body.retryAfter));
}

async function events(t: TestApp, who: { clientId: string; userId: string }) {
  const rows = await t.dataSource.query<Array<{ event: string; detail: string | null }>>(
    `SELECT event, detail FROM audit_events WHERE client_id = $1 AND user_id = $2 ORDER BY id`,
    [who.clientId, who.userId],
  );
  return rows;
}

/** A mobile number of the same block (all but the last 4 digits) as `e164`, not yet used. */
function sameBlock(national: string, last4: number): { national: string; e164: string } {
  const next = `${national.slice(0, -4)}${String(last4).padStart(4, '0')}`;
  return { national: next, e164: `+91${next}` };
}

describe('numbers nobody signs in from are refused by default', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it.each([
    ['a UK personal number (+44 70…)', '+44', '7012345678', 'phone number type'],
    ['an Iridium satellite phone (+881 6…)', '+881', '612345678', 'range'],
    ['an Inmarsat phone (+870)', '+870', '773111632', 'range'],
  ])('%s: 400 INVALID_PHONE, nothing sent', async (_name, countryCode, national, reason) => {
    const app = new OtpClient(t, user().token);
    const res = await app.register(national, countryCode);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({
      error: 'INVALID_PHONE',
      message: expect.stringContaining(reason),
    });
  });

  it('a UK mobile is still welcome', async () => {
    expect((await new OtpClient(t, user().token).register('7400123456', '+44')).status).toBe(200);
  });
});

describe('BLOCKED_PREFIXES set by the operator', () => {
  it('replaces the default list: none lets satellite phones in, a listed prefix is out', async () => {
    const open = await startTestApp({ BLOCKED_PREFIXES: 'none' });
    const narrow = await startTestApp({ BLOCKED_PREFIXES: '+1876' });
    try {
      expect((await new OtpClient(open, user().token).register('612345678', '+881')).status).toBe(
        200,
      );
      const jamaica = await new OtpClient(narrow, user().token).register('8765551234', '+1');
      expect(jamaica.status).toBe(400);
      expect((await new OtpClient(narrow, user().token).register('2025550123', '+1')).status).toBe(
        200,
      );
    } finally {
      await Promise.all([open.close(), narrow.close()]);
    }
  });
});

describe('a client without a budget of its own', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({ OTP_MAX_SENDS_PER_CLIENT_PER_HOUR: '3' });
  });
  afterAll(() => t.close());

  it('gets the default hourly budget, so it cannot spend the whole service budget', async () => {
    const clientId = `pumper-${Date.now()}`;
    for (let i = 0; i < 3; i++) {
      const res = await new OtpClient(t, user(clientId).token).register(uniquePhone().national);
      expect(res.status).toBe(200);
    }
    const fourth = await new OtpClient(t, user(clientId).token).register(uniquePhone().national);
    expectRateLimited(fourth, /this app/);
    // Another client is not affected.
    expect((await new OtpClient(t, user().token).register(uniquePhone().national)).status).toBe(
      200,
    );
  });
});

describe('the pumping guard', () => {
  let t: TestApp;
  // Codes live 2 minutes; after 7, every send of the first minute is settled (could have been
  // verified) whatever the 5-minute bucket it fell in.
  const SETTLE = 7 * 60;

  beforeEach(async () => {
    t = await startTestApp({
      OTP_TTL_SECONDS: '120',
      PUMPING_MIN_SENDS: '5',
      PUMPING_MIN_CONVERSION: '50%',
      OTP_MAX_SENDS_PER_PREFIX_PER_HOUR: '1000',
    });
  });
  afterEach(() => t.close());

  /** Registers a new user's code to `phone` (+91 unless given); answers the code sent. */
  async function send(national: string, countryCode = '+91') {
    const app = new OtpClient(t, user().token);
    const res = await app.register(national, countryCode);
    expect(res.status).toBe(200);
    return { app, sent: lastCodeFor(t.messagesFile, `${countryCode}${national}`) };
  }

  it('pauses a country where few codes are verified, logs an alert, and an operator reopens it', async () => {
    const codes = [];
    for (let i = 0; i < 5; i++)
      codes.push({ phone: uniquePhone(), ...(await send(uniquePhone().national)) });
    // Two of five verified: 40 %, under the 50 % asked for.
    for (const { app, sent } of codes.slice(0, 2)) {
      const national = sent.to.slice(3);
      expect((await app.verify(national, sent.authCode, sent.code)).status).toBe(200);
    }
    // Before the codes could have expired nothing is judged: real users may still type them.
    expect((await new OtpClient(t, user().token).register(uniquePhone().national)).status).toBe(
      200,
    );

    t.clock.advance(SETTLE);
    const paused = await new OtpClient(t, user().token).register(uniquePhone().national);
    expectRateLimited(paused, /codes to this country are paused/);
    expect(t.logs.join('\n')).toContain('"alert":"otp_pumping_suspected"');
    // Another country is not affected.
    expect((await new OtpClient(t, user().token).register('7400123456', '+44')).status).toBe(200);

    const { scopes } = await cliOk(t, 'pumping:status');
    expect(scopes).toEqual(
      expect.arrayContaining([
        { scope: 'region:IN', settled: 6, verified: 2, conversion: 2 / 6, paused: true },
      ]),
    );
    const metrics = await http(t.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/otp_country_sends_settled\{country="IN"\} 6/);
    expect(metrics.text).toMatch(/otp_country_verified\{country="IN"\} 2/);

    expect(await cliOk(t, 'pumping:clear', '--region', 'in')).toEqual({ cleared: 'region:IN' });
    expect((await cli(t, 'pumping:clear', '--region', 'IN')).exitCode).toBe(3); // nothing left
    expect((await new OtpClient(t, user().token).register(uniquePhone().national)).status).toBe(
      200,
    );
    const [audited] = await t.dataSource.query<Array<{ actor: string; detail: string }>>(
      `SELECT actor, detail FROM audit_events WHERE event = 'pumping_cleared'`,
    );
    expect(audited).toEqual({ actor: 'admin', detail: 'region:IN' });
    expect((await cli(t, 'pumping:clear', '--region', 'India')).exitCode).toBe(2);
  });

  it('stays open where enough codes are verified', async () => {
    const codes = [];
    for (let i = 0; i < 6; i++) codes.push(await send(uniquePhone().national));
    for (const { app, sent } of codes.slice(0, 3)) {
      expect((await app.verify(sent.to.slice(3), sent.authCode, sent.code)).status).toBe(200);
    }
    t.clock.advance(SETTLE);
    expect((await new OtpClient(t, user().token).register(uniquePhone().national)).status).toBe(
      200,
    );
  });

  it('pauses a number block that pumping walks through, while its country stays open', async () => {
    const base = uniquePhone().national;
    // Six codes into one block, none verified; six elsewhere in the country, all verified.
    for (let i = 0; i < 6; i++) await send(sameBlock(base, 1000 + i).national);
    for (let i = 0; i < 6; i++) {
      const { app, sent } = await send(uniquePhone().national);
      expect((await app.verify(sent.to.slice(3), sent.authCode, sent.code)).status).toBe(200);
    }
    t.clock.advance(SETTLE);
    const paused = await new OtpClient(t, user().token).register(sameBlock(base, 2000).national);
    expectRateLimited(paused, /codes to this number range are paused/);
    expect((await new OtpClient(t, user().token).register(uniquePhone().national)).status).toBe(
      200,
    );
  });
});

describe('link probes', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      LINK_PROBES_PER_USER_PER_HOUR: '3',
      LINK_PROBES_PER_CLIENT_PER_HOUR: '5',
    });
  });
  afterAll(() => t.close());

  it('409 PHONE_ALREADY_LINKED costs a probe; past the budget the prober gets 429 for every phone, audited', async () => {
    const owner = user();
    const phone = uniquePhone();
    const ownerApp = new OtpClient(t, owner.token);
    expect((await ownerApp.register(phone.national)).status).toBe(200);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    expect((await ownerApp.verify(phone.national, sent.authCode, sent.code)).status).toBe(200);

    const prober = user(owner.clientId);
    const probe = new OtpClient(t, prober.token);
    expect((await probe.register(phone.national)).status).toBe(409);
    expect((await probe.verify(phone.national, 12345678, '000000')).status).toBe(409);
    expect((await probe.register(phone.national)).status).toBe(409);
    // The fourth answer would tell as much: it is refused instead, register and verify alike,
    // and so is every other phone, or a 429 would still tell linked phones from the rest.
    expectRateLimited(await probe.register(phone.national), /too many phones already linked/);
    expectRateLimited(await probe.verify(phone.national, 12345678, '000000'), /too many phones/);
    const unlinked = uniquePhone().national;
    expectRateLimited(await probe.register(unlinked), /too many phones/);
    expectRateLimited(await probe.verify(unlinked, 12345678, '000000'), /too many phones/);
    const trail = (await events(t, prober)).map((row) => row.event);
    expect(trail.filter((event) => event === 'link_conflict')).toHaveLength(3);
    expect(trail.filter((event) => event === 'rate_limited')).toHaveLength(4);

    // The client's budget (5) spans its users: two more probes by another user use it up.
    const other = new OtpClient(t, user(owner.clientId).token);
    expect((await other.register(phone.national)).status).toBe(409);
    expect((await other.register(phone.national)).status).toBe(409);
    // Having probed, `other` is refused everything while the client is out of probes…
    expectRateLimited(await other.register(uniquePhone().national), /too many phones/);
    // …and a user yet to probe learns one answer at most before the same.
    const fresh = new OtpClient(t, user(owner.clientId).token);
    expectRateLimited(await fresh.register(phone.national), /too many phones/);
    expectRateLimited(await fresh.register(uniquePhone().national), /too many phones/);
    const bystander = new OtpClient(t, user(owner.clientId).token);
    expect((await bystander.register(uniquePhone().national)).status).toBe(200);
    // Users of other clients, and the owner's own answers, are not affected.
    expect((await new OtpClient(t, user().token).register(phone.national)).status).toBe(200);
    expect((await ownerApp.register(phone.national)).status).toBe(409); // ACCOUNT_ALREADY_LINKED

    // An hour on, the budgets are whole again.
    t.clock.advance(3601);
    expect((await probe.register(uniquePhone().national)).status).toBe(200);
  });
});

describe('limits:clear, the way to let a locked-out owner in', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp({
      OTP_MAX_FAILED_VERIFIES_PER_PHONE_PER_HOUR: '3',
      OTP_MAX_SENDS_PER_PHONE_PER_HOUR: '3',
    });
  });
  afterAll(() => t.close());

  it("gives the phone its hour back after an attacker's wrong codes and sends, audited", async () => {
    const phone = uniquePhone();
    // The attacker: three users of their own, each a code to the victim's phone and wrong codes.
    for (let i = 0; i < 3; i++) {
      const attacker = new OtpClient(t, user().token);
      expect((await attacker.register(phone.national)).status).toBe(200);
      const { authCode, code } = lastCodeFor(t.messagesFile, phone.e164);
      await attacker.verify(phone.national, authCode, wrongCode(code));
    }
    const owner = new OtpClient(t, user().token);
    expectRateLimited(await owner.register(phone.national), /this phone/);

    const cleared = await cliOk(t, 'limits:clear', '--phone', phone.e164);
    expect(cleared).toEqual({ phone: phone.e164, sends: 3, failures: 3 });
    expect((await owner.register(phone.national)).status).toBe(200);
    const { authCode, code } = lastCodeFor(t.messagesFile, phone.e164);
    expect((await owner.verify(phone.national, authCode, code)).status).toBe(200);

    const [audited] = await t.dataSource.query<Array<{ actor: string; target_masked: string }>>(
      `SELECT actor, target_masked FROM audit_events WHERE event = 'limits_cleared'`,
    );
    expect(audited).toEqual({
      actor: 'admin',
      target_masked: `+91******${phone.national.slice(-3)}`,
    });
    expect((await cli(t, 'limits:clear', '--phone', '12345')).exitCode).toBe(2);
  });
});
