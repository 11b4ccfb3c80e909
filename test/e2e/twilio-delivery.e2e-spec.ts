import { OutboxService } from '@app/notifications';
import { startTestApp, TestApp } from '../support/test-app';
import { OtpClient, uniquePhone } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';
import { RecordedRequest, startTwilioFake, TwilioFake } from '../support/twilio-fake';

/**
 * SMS delivery through the twilio driver against a loopback fake of Twilio's Messages API: the
 * request Twilio gets, and the durable outbox around it (retries with backoff, permanent
 * rejections, timeouts, expiry), over real HTTP on a fresh database.
 *
 * The background poller runs every second on the same movable clock as the tests, so once a test
 * moves the clock past a message's next attempt, either the poller or the test's own
 * `deliverDue()` may take the message. `deliverUntil` below is correct either way; the exact
 * request counts at the fake prove that nothing is sent twice.
 */

const FROM_NUMBER = '+15005550006';
const MESSAGING_SERVICE_SID = 'MG' + '9abcdef012345678'.repeat(2);
const MESSAGES_PATH = (sid: string) => `/2010-04-01/Accounts/${sid}/Messages.json`;

interface OutboxRow {
  id: string;
  status: string;
  payload: Buffer | null;
  attempts: number;
  last_error: string | null;
  provider_message_id: string | null;
  next_attempt_at: Date;
  expires_at: Date;
  sent_at: Date | null;
}

interface AuditRow {
  event: string;
  detail: string | null;
  created_at: Date;
}

/** The twilio driver's environment, pointed at `fake`. */
function twilioEnv(fake: TwilioFake, from = FROM_NUMBER): Record<string, string> {
  return {
    NOTIFY_DRIVER: 'twilio',
    TWILIO_API_URL: fake.url,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: from,
  };
}

/** The code in an SMS the fake received. */
function codeIn(request: RecordedRequest): string {
  const match = /(?<!\d)(\d{6})(?!\d)/.exec(request.form.Body ?? '');
  if (!match) throw new Error('the message body carries no 6-digit code');
  return match[1];
}

/** The outbox rows for a recipient, oldest first. */
async function outboxRows(t: TestApp, e164: string): Promise<OutboxRow[]> {
  const rows = await t.dataSource.query<OutboxRow[]>(
    `SELECT id, status, payload, attempts, last_error, provider_message_id, next_attempt_at,
            expires_at, sent_at
       FROM outbox_messages WHERE recipient = $1 ORDER BY created_at, id`,
    [e164],
  );
  return rows.map((row) => ({
    ...row,
    payload: row.payload === null ? null : Buffer.from(row.payload),
    next_attempt_at: new Date(row.next_attempt_at),
    expires_at: new Date(row.expires_at),
    sent_at: row.sent_at === null ? null : new Date(row.sent_at),
  }));
}

/** The one outbox row for a recipient. */
async function outboxRow(t: TestApp, e164: string): Promise<OutboxRow> {
  const rows = await outboxRows(t, e164);
  expect(rows).toHaveLength(1);
  return rows[0];
}

async function challengeId(t: TestApp, authCode: unknown): Promise<string> {
  const rows = await t.dataSource.query<Array<{ id: string }>>(
    `SELECT id FROM otp_challenges WHERE auth_code = $1`,
    [String(authCode)],
  );
  expect(rows).toHaveLength(1);
  return rows[0].id;
}

async function auditTrail(t: TestApp, challenge: string): Promise<AuditRow[]> {
  const rows = await t.dataSource.query<AuditRow[]>(
    `SELECT event, detail, created_at FROM audit_events WHERE challenge_id = $1 ORDER BY id`,
    [challenge],
  );
  return rows.map((row) => ({ ...row, created_at: new Date(row.created_at) }));
}

/** How many delivery attempts of the challenge's messages have ended (each writes one event). */
async function outcomes(t: TestApp, challenge: string): Promise<number> {
  const trail = await auditTrail(t, challenge);
  return trail.filter((e) => e.event === 'sent' || e.event === 'delivery_failed').length;
}

/**
 * Polls the outbox until `expected` delivery attempts of the challenge's messages have ended.
 * Usually the test's own deliverDue() takes the due message and has finished with it when it
 * returns; when the background poller took it first, this waits (briefly, re-checking) for the
 * poller's attempt to end.
 */
async function deliverUntil(
  t: TestApp,
  outbox: OutboxService,
  challenge: string,
  expected: number,
): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await outbox.deliverDue();
    if ((await outcomes(t, challenge)) >= expected) return;
    if (Date.now() > deadline) {
      throw new Error(`only ${await outcomes(t, challenge)} of ${expected} attempts ended`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Polls the outbox until no message to `e164` is pending any more (see deliverUntil). */
async function deliverUntilSettled(t: TestApp, outbox: OutboxService, e164: string) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    await outbox.deliverDue();
    const rows = await outboxRows(t, e164);
    if (rows.every((row) => row.status !== 'pending')) return;
    if (Date.now() > deadline) throw new Error(`messages to ${e164} are still pending`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Moves the clock just past the message's next attempt. */
async function advancePastNextAttempt(t: TestApp, e164: string): Promise<void> {
  const row = await outboxRow(t, e164);
  const wait = row.next_attempt_at.getTime() - t.clock.now().getTime();
  t.clock.advance(Math.max(wait, 0) / 1000 + 0.05);
}

async function pendingCount(t: TestApp): Promise<number> {
  const [{ n }] = await t.dataSource.query<Array<{ n: number }>>(
    `SELECT count(*)::int AS n FROM outbox_messages WHERE status = 'pending'`,
  );
  return n;
}

/** Whether `digits` occur in `text` as a whole number, not inside a longer one (a timestamp). */
function containsNumber(text: string, digits: string): boolean {
  return new RegExp(`(?<!\\d)${digits.replace('+', '\\+')}(?!\\d)`).test(text);
}

/** Spec §6: no log line ever contains a code, a token or a full phone number. */
function expectNoSecretsInLogs(t: TestApp, fake: TwilioFake, requests: RecordedRequest[]): void {
  const logs = t.logs.join('\n');
  const basic = Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64');
  expect(logs).not.toContain(fake.authToken);
  expect(logs).not.toContain(basic);
  expect(logs).not.toContain('verification code');
  const codes = new Set(requests.map(codeIn));
  const phones = new Set(requests.map((r) => r.form.To));
  expect(codes.size).toBeGreaterThan(0);
  for (const code of codes) expect(containsNumber(logs, code)).toBe(false);
  for (const e164 of phones) {
    expect(logs).not.toContain(e164);
    expect(logs).not.toContain(e164.slice(1)); // 91XXXXXXXXXX
    expect(logs).not.toContain(e164.slice(3)); // the national number
  }
}

describe('Twilio delivery: SMS from a number, through the durable outbox', () => {
  let fake: TwilioFake;
  let t: TestApp;
  let outbox: OutboxService;
  /** Every request the fake got in this describe, for the log check at the end. */
  const seen: RecordedRequest[] = [];

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp(twilioEnv(fake));
    outbox = t.app.get(OutboxService);
  });

  afterEach(() => {
    seen.push(...fake.requests);
    fake.reset();
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const client = (token: string) => new OtpClient(t, token);

  it('sends one Messages request with Basic auth and the form Twilio expects; its code verifies', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(registered.body).toMatchObject({ isNewUser: true, expiresIn: 300, channel: 'sms' });

    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.method).toBe('POST');
    expect(request.path).toBe(MESSAGES_PATH(fake.accountSid));
    expect(request.headers.authorization).toBe(
      'Basic ' + Buffer.from(`${fake.accountSid}:${fake.authToken}`).toString('base64'),
    );
    expect(request.username).toBe(fake.accountSid);
    expect(request.password).toBe(fake.authToken);
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(Object.keys(request.form).sort()).toEqual(['Body', 'From', 'To', 'ValidityPeriod']);
    // Twilio drops it rather than deliver it after the code's 300 s.
    expect(Number(request.form.ValidityPeriod)).toBeGreaterThan(290);
    expect(Number(request.form.ValidityPeriod)).toBeLessThanOrEqual(300);
    expect(request.form.To).toBe(phone.e164);
    expect(request.form.From).toBe(FROM_NUMBER);
    const code = codeIn(request);
    expect(request.form.Body).toBe(
      `${code} is your verification code to link your phone to Ludo. It expires in 5 min. Never share it.`,
    );

    expect(fake.messages).toHaveLength(1);
    const row = await outboxRow(t, phone.e164);
    expect(row).toMatchObject({
      status: 'sent',
      payload: null,
      attempts: 1,
      last_error: null,
      provider_message_id: fake.messages[0].sid,
    });
    expect(row.provider_message_id).toMatch(/^SM[0-9a-f]{32}$/);
    expect(row.sent_at).toBeInstanceOf(Date);

    const verified = await app.verify(phone.national, Number(registered.body.authCode), code);
    expect(verified.status).toBe(200);
    expect(verified.body).toEqual({
      message: 'Users linked successfully',
      userId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      isNewUser: true,
      verificationToken: expect.any(String),
    });
    const linked = await app.linkedMobileNumber();
    expect(linked.body).toMatchObject({ LinkedPhone: phone.national, CountryCode: '+91' });

    const challenge = await challengeId(t, registered.body.authCode);
    expect((await auditTrail(t, challenge)).map((e) => e.event)).toEqual([
      'requested',
      'sent',
      'verified',
      'linked',
    ]);
    // Nothing is left for the poller, and polling sends nothing more.
    await outbox.deliverDue();
    expect(fake.requests).toHaveLength(1);
    expect(await pendingCount(t)).toBe(0);
  });

  it('a 500 still answers 200; the outbox keeps the code encrypted and the next poll delivers it', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    fake.respondWith({ status: 500 });

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(registered.body).toMatchObject({ authCode: expect.any(String), isNewUser: true });

    const pending = await outboxRow(t, phone.e164);
    expect(fake.requests).toHaveLength(1); // read before any retry: the row is the inline outcome
    const code = codeIn(fake.requests[0]);
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, provider_message_id: null });
    expect(pending.last_error).toContain('500');
    expect(pending.payload).not.toBeNull();
    const sealed = pending.payload as Buffer;
    for (const encoding of ['utf8', 'latin1', 'hex', 'base64'] as const) {
      expect(sealed.toString(encoding)).not.toContain(code);
      expect(sealed.toString(encoding)).not.toContain('verification code');
    }
    const challenge = await challengeId(t, registered.body.authCode);

    // Not due before its backoff (2 s ± 20 %): a poll now sends nothing.
    await outbox.deliverDue();
    expect(fake.requests).toHaveLength(1);

    t.clock.advance(3);
    await deliverUntil(t, outbox, challenge, 2);
    expect(fake.requests).toHaveLength(2);
    const retried = fake.requests[1];
    // The same message, same code; only the time it has left is shorter.
    const { ValidityPeriod: firstValidity, ...first } = fake.requests[0].form;
    const { ValidityPeriod: retriedValidity, ...again } = retried.form;
    expect(again).toEqual(first);
    expect(Number(retriedValidity)).toBeLessThan(Number(firstValidity));
    const delivered = await outboxRow(t, phone.e164);
    expect(delivered).toMatchObject({
      status: 'sent',
      payload: null,
      attempts: 2,
      provider_message_id: fake.messages[0].sid,
    });

    const verified = await app.verify(
      phone.national,
      registered.body.authCode as string,
      codeIn(retried),
    );
    expect(verified.status).toBe(200);

    const trail = await auditTrail(t, challenge);
    expect(trail.map((e) => e.event)).toEqual([
      'requested',
      'delivery_failed',
      'sent',
      'verified',
      'linked',
    ]);
    expect(trail[1].detail).toContain('500');

    t.clock.advance(60);
    await outbox.deliverDue();
    expect(fake.requests).toHaveLength(2);
    expect(await pendingCount(t)).toBe(0);
  });

  it.each([
    [21211, (e164: string) => `The 'To' number ${e164} is not a valid phone number.`],
    [21610, () => 'Attempt to send to unsubscribed recipient'],
  ])(
    'a permanent rejection (Twilio %i) answers 422 PHONE_UNDELIVERABLE and is never retried',
    async (twilioCode, text) => {
      const user = newPartnerUser();
      const phone = uniquePhone();
      // Twilio's messages quote the number; none of it may reach logs, audit or the answer.
      fake.respondWith(TwilioFake.error(400, twilioCode, text(phone.e164)));

      const registered = await client(user.token).register(phone.national);
      expect(registered.status).toBe(422);
      expect(registered.body).toEqual({
        statusCode: 422,
        error: 'PHONE_UNDELIVERABLE',
        message: expect.any(String),
      });
      expect(registered.text).not.toContain(phone.national);
      expect(fake.requests).toHaveLength(1);
      expect(fake.messages).toHaveLength(0);

      const row = await outboxRow(t, phone.e164);
      expect(row).toMatchObject({ status: 'failed', payload: null, attempts: 1, sent_at: null });
      expect(row.last_error).toContain(String(twilioCode));
      expect(row.last_error).not.toContain(phone.national);

      const [{ id: challenge }] = await t.dataSource.query<Array<{ id: string }>>(
        `SELECT id FROM otp_challenges WHERE client_id = $1 AND user_id = $2`,
        [user.clientId, user.userId],
      );
      const trail = await auditTrail(t, challenge);
      expect(trail.map((e) => e.event)).toEqual(['requested', 'delivery_failed']);
      expect(trail[1].detail).toContain(String(twilioCode));
      expect(trail[1].detail).not.toContain(phone.national);

      // Long after any backoff and the code's lifetime: still nothing more is sent.
      t.clock.advance(600);
      await outbox.deliverDue();
      await outbox.deliverDue();
      expect(fake.requests).toHaveLength(1);
      expect(await outboxRow(t, phone.e164)).toMatchObject({ status: 'failed', attempts: 1 });
    },
  );

  it('three 500s in a row then success: one request per poll after each backoff, delivered once', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    fake.respondWith({ status: 500 }, { status: 500 }, { status: 500 });

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
    const challenge = await challengeId(t, registered.body.authCode);

    for (let attempts = 1; attempts <= 3; attempts++) {
      const row = await outboxRow(t, phone.e164);
      expect(row).toMatchObject({ status: 'pending', attempts });
      expect(row.last_error).toContain('500');
      expect(row.payload).not.toBeNull();
      // Backoff: 2 s · 2^(attempts−1), ±20 % jitter, from the failure (same clock reading).
      const failures = (await auditTrail(t, challenge)).filter(
        (e) => e.event === 'delivery_failed',
      );
      expect(failures).toHaveLength(attempts);
      const backoff = row.next_attempt_at.getTime() - failures[attempts - 1].created_at.getTime();
      const base = 2000 * 2 ** (attempts - 1);
      expect(backoff).toBeGreaterThanOrEqual(0.8 * base);
      expect(backoff).toBeLessThanOrEqual(1.2 * base);

      // Before the backoff has passed, a poll sends nothing.
      await outbox.deliverDue();
      expect(fake.requests).toHaveLength(attempts);

      await advancePastNextAttempt(t, phone.e164);
      await deliverUntil(t, outbox, challenge, attempts + 1);
      expect(fake.requests).toHaveLength(attempts + 1);
    }

    const row = await outboxRow(t, phone.e164);
    expect(row).toMatchObject({
      status: 'sent',
      payload: null,
      attempts: 4,
      provider_message_id: fake.messages[0].sid,
    });
    expect(fake.messages).toHaveLength(1);
    const bodies = new Set(fake.requests.map((r) => `${r.form.To} ${r.form.Body}`));
    expect(bodies.size).toBe(1); // every attempt carried the same message

    const verified = await app.verify(
      phone.national,
      registered.body.authCode as string,
      codeIn(fake.requests[3]),
    );
    expect(verified.status).toBe(200);
    expect((await auditTrail(t, challenge)).map((e) => e.event)).toEqual([
      'requested',
      'delivery_failed',
      'delivery_failed',
      'delivery_failed',
      'sent',
      'verified',
      'linked',
    ]);

    // Delivered once: later polls send nothing more.
    t.clock.advance(600);
    await outbox.deliverDue();
    await outbox.deliverDue();
    expect(fake.requests).toHaveLength(4);
    expect(await pendingCount(t)).toBe(0);
  });

  it('logs none of the auth token, the codes sent or the full phone numbers', async () => {
    // One more flow with a retry, so the warn lines of failed attempts are in the logs too.
    const user = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith({ status: 503 });
    const registered = await client(user.token).register(phone.national);
    expect(registered.status).toBe(200);
    t.clock.advance(3);
    await deliverUntil(t, outbox, await challengeId(t, registered.body.authCode), 2);
    expect(fake.requests).toHaveLength(2);

    const logs = t.logs.join('\n');
    expect(logs).toContain('delivery failed; will retry'); // the capture works
    expect(logs).toContain('message not delivered');
    expectNoSecretsInLogs(t, fake, [...seen, ...fake.requests]);
  });
});

describe('Twilio delivery: from a Messaging Service', () => {
  let fake: TwilioFake;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp(twilioEnv(fake, MESSAGING_SERVICE_SID));
  });

  afterEach(() => fake.reset());

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('sends MessagingServiceSid instead of From', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = new OtpClient(t, user.token);

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
    const [request] = fake.requests;
    expect(request.path).toBe(MESSAGES_PATH(fake.accountSid));
    expect(request.username).toBe(fake.accountSid);
    expect(request.password).toBe(fake.authToken);
    expect(Object.keys(request.form).sort()).toEqual([
      'Body',
      'MessagingServiceSid',
      'To',
      'ValidityPeriod',
    ]);
    expect(request.form.MessagingServiceSid).toBe(MESSAGING_SERVICE_SID);
    expect(request.form).not.toHaveProperty('From');
    expect(request.form.To).toBe(phone.e164);

    expect(await outboxRow(t, phone.e164)).toMatchObject({
      status: 'sent',
      payload: null,
      provider_message_id: fake.messages[0].sid,
    });
    expect(fake.messages[0].messaging_service_sid).toBe(MESSAGING_SERVICE_SID);
    const verified = await app.verify(
      phone.national,
      registered.body.authCode as string,
      codeIn(request),
    );
    expect(verified.status).toBe(200);
  });
});

describe('Twilio delivery: a slow provider', () => {
  const TIMEOUT_MS = 300;
  let fake: TwilioFake;
  let t: TestApp;
  let outbox: OutboxService;
  const seen: RecordedRequest[] = [];

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp({ ...twilioEnv(fake), NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS) });
    outbox = t.app.get(OutboxService);
    // Warm the app up (first queries, first Twilio client request), so timing below is fair.
    const warmUp = await new OtpClient(t, newPartnerUser().token).register(uniquePhone().national);
    expect(warmUp.status).toBe(200);
    seen.push(...fake.requests);
    fake.reset();
  });

  afterEach(() => {
    seen.push(...fake.requests);
    fake.reset();
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  it('register answers 200 within NOTIFY_TIMEOUT_MS; the message stays pending and a later poll delivers it', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = new OtpClient(t, user.token);
    fake.respondWith({ status: 201, delayMs: 2000 });

    const started = performance.now();
    const registered = await app.register(phone.national);
    const elapsed = performance.now() - started;
    expect(registered.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(TIMEOUT_MS - 20); // it did wait for the attempt …
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 700); // … but no longer than the timeout

    expect(fake.requests).toHaveLength(1);
    const pending = await outboxRow(t, phone.e164);
    expect(fake.requests).toHaveLength(1);
    expect(pending).toMatchObject({ status: 'pending', attempts: 1, provider_message_id: null });
    expect(pending.last_error).toMatch(/timed out|aborted/);
    expect(pending.payload).not.toBeNull();
    const challenge = await challengeId(t, registered.body.authCode);

    t.clock.advance(3);
    await deliverUntil(t, outbox, challenge, 2);
    expect(fake.requests).toHaveLength(2);
    const delivered = await outboxRow(t, phone.e164);
    expect(delivered).toMatchObject({ status: 'sent', payload: null, attempts: 2 });
    expect(delivered.provider_message_id).toMatch(/^SM[0-9a-f]{32}$/);

    // The late answer to the timed-out request (Twilio took that message too) changes nothing.
    const lateDeadline = Date.now() + 5000;
    while (fake.messages.length < 2 && Date.now() < lateDeadline) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(fake.messages).toHaveLength(2);
    expect(fake.messages.map((m) => m.sid)).toContain(delivered.provider_message_id);
    expect(await outboxRow(t, phone.e164)).toEqual(delivered);

    const verified = await app.verify(
      phone.national,
      registered.body.authCode as string,
      codeIn(fake.requests[1]),
    );
    expect(verified.status).toBe(200);
    expect((await auditTrail(t, challenge)).map((e) => e.event)).toEqual([
      'requested',
      'delivery_failed',
      'sent',
      'verified',
      'linked',
    ]);

    t.clock.advance(600);
    await outbox.deliverDue();
    expect(fake.requests).toHaveLength(2);
    expect(await pendingCount(t)).toBe(0);
  });

  it('logs none of the auth token, the codes sent or the full phone numbers', () => {
    expect(t.logs.join('\n')).toContain('delivery failed; will retry');
    expectNoSecretsInLogs(t, fake, seen);
  });
});

describe('Twilio delivery: the code lifetime bounds delivery', () => {
  let fake: TwilioFake;
  let t: TestApp;
  let outbox: OutboxService;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp({
      ...twilioEnv(fake),
      OTP_TTL_SECONDS: '60',
      OTP_RESEND_COOLDOWN_SECONDS: '0',
    });
    outbox = t.app.get(OutboxService);
  });

  afterEach(() => fake.reset());

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  const client = (token: string) => new OtpClient(t, token);

  it('a message still undelivered when its code expires is marked expired and never sent', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    fake.respondWith({ status: 500 }, { status: 500 }); // then Twilio would accept again

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(registered.body.expiresIn).toBe(60);
    const challenge = await challengeId(t, registered.body.authCode);
    expect(fake.requests).toHaveLength(1);
    const code = codeIn(fake.requests[0]);

    t.clock.advance(3);
    await deliverUntil(t, outbox, challenge, 2);
    expect(fake.requests).toHaveLength(2);
    expect(await outboxRow(t, phone.e164)).toMatchObject({ status: 'pending', attempts: 2 });

    // The provider stays down past the code's lifetime; the next retry finds it expired.
    t.clock.advance(60);
    await deliverUntil(t, outbox, challenge, 3);
    expect(fake.requests).toHaveLength(2);
    const row = await outboxRow(t, phone.e164);
    expect(row).toMatchObject({ status: 'expired', payload: null, sent_at: null });
    expect(row.provider_message_id).toBeNull();
    const trail = await auditTrail(t, challenge);
    expect(trail.map((e) => e.event)).toEqual([
      'requested',
      'delivery_failed',
      'delivery_failed',
      'delivery_failed',
    ]);
    expect(trail[3].detail).toMatch(/expired/);

    const verified = await app.verify(phone.national, registered.body.authCode as string, code);
    expect(verified.status).toBe(410);
    expect(verified.body).toMatchObject({ error: 'OTP_EXPIRED' });

    t.clock.advance(600);
    await outbox.deliverDue();
    expect(fake.requests).toHaveLength(2);
    expect(await pendingCount(t)).toBe(0);
  });

  // A resend supersedes the older message still pending in the outbox.
  it('a resend supersedes an undelivered older message: the dead code is never sent', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = client(user.token);
    fake.respondWith({ status: 500 }); // the first message is left pending

    const registered = await app.register(phone.national);
    expect(registered.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
    const firstCode = codeIn(fake.requests[0]);

    const resent = await app.resend(phone.national);
    expect(resent.status).toBe(200);
    expect(resent.body.authCode).toBe(registered.body.authCode);
    expect(fake.requests).toHaveLength(2);
    const secondCode = codeIn(fake.requests[1]);
    expect(secondCode).not.toBe(firstCode);

    // The first code is dead now (spec §3: resend invalidates the previous code), so sending
    // its message once the provider is back would only mislead the user.
    t.clock.advance(3);
    await deliverUntilSettled(t, outbox, phone.e164);
    expect(fake.requests.map(codeIn)).toEqual([firstCode, secondCode]);
    const rows = await outboxRows(t, phone.e164);
    expect(rows).toHaveLength(2);
    expect(rows[0].status).not.toBe('sent');
    expect(rows[0].payload).toBeNull();
    expect(rows[1]).toMatchObject({ status: 'sent', payload: null });

    const verified = await app.verify(
      phone.national,
      registered.body.authCode as string,
      secondCode,
    );
    expect(verified.status).toBe(200);
  });
});

describe('Twilio delivery: a batch claimed by one instance under a slow provider', () => {
  const TIMEOUT_MS = 300;
  let fake: TwilioFake;
  let t: TestApp;
  let outbox: OutboxService;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp({ ...twilioEnv(fake), NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS) });
    outbox = t.app.get(OutboxService);
  });

  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  // A claimed batch is sent all at once, inside its lease, so no other poll can claim a row of
  // it meanwhile and send it a second time.
  it('sends a claimed batch at once; a concurrent poll claims none of it', async () => {
    const phones = [uniquePhone(), uniquePhone()];
    fake.respondWith({ status: 500 }, { status: 500 });
    for (const phone of phones) {
      expect((await new OtpClient(t, newPartnerUser().token).register(phone.national)).status).toBe(
        200,
      );
    }
    expect(fake.requests).toHaveLength(2);

    // Both retries are slow: each outlasts NOTIFY_TIMEOUT_MS.
    fake.respondWith({ status: 201, delayMs: 2000 }, { status: 201, delayMs: 2000 });
    t.clock.advance(3);
    const first = outbox.deliverDue(); // this call or the background poller claims both
    const deadline = Date.now() + 5000;
    while (fake.requests.length < 4 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    expect(fake.requests).toHaveLength(4); // both in flight together, not one after the other
    expect(await outbox.deliverDue()).toBe(0); // the lease keeps another poll off them
    await first;

    // Settle: every later attempt is a fresh claim after its backoff.
    for (let round = 0; round < 10 && (await pendingCount(t)) > 0; round++) {
      for (const phone of phones) {
        const [row] = await outboxRows(t, phone.e164);
        if (row.status === 'pending') await advancePastNextAttempt(t, phone.e164);
      }
      await outbox.deliverDue();
    }
    for (const phone of phones) {
      const [row] = await outboxRows(t, phone.e164);
      expect(row.status).toBe('sent');
      // One request per recorded attempt: nothing was sent twice.
      expect(fake.requests.filter((r) => r.form.To === phone.e164)).toHaveLength(row.attempts);
    }
  });
});
