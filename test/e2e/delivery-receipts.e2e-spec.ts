import { getExpectedTwilioSignature } from 'twilio/lib/webhooks/webhooks';
import { OutboxService } from '@app/notifications';
import { adminApi, cli, TEST_ADMIN_KEY } from '../support/admin';
import { http, HttpResult } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';
import { uniquePhone } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';
import { startTwilioFake, TwilioFake } from '../support/twilio-fake';

/**
 * Delivery receipts (CHANNELS.md): with PUBLIC_URL set, messages and calls carry a
 * StatusCallback; Twilio's signed callbacks are recorded on the message monotonically, in the
 * audit trail and in the metrics. Signatures are made here as Twilio makes them (the twilio
 * package's own function), over the URL the message named.
 */

const PUBLIC_URL = 'https://otp.example.com';
const CALLBACK = `${PUBLIC_URL}/hooks/twilio/status`;
const HOOK = '/hooks/twilio/status';

describe('Delivery receipts from Twilio', () => {
  let fake: TwilioFake;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp({
      NOTIFY_CHANNELS: 'sms,voice',
      NOTIFY_DRIVER: 'twilio',
      TWILIO_API_URL: fake.url,
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: '+15005550006',
      PUBLIC_URL: `${PUBLIC_URL}/`,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  /** Posts a callback as Twilio does: a form, signed unless `signature` says otherwise. */
  function callback(
    params: Record<string, string>,
    signature: string | null = getExpectedTwilioSignature(fake.authToken, CALLBACK, params),
  ): Promise<HttpResult> {
    return http(t.url, 'POST', HOOK, {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        ...(signature === null ? {} : { 'x-twilio-signature': signature }),
      },
      body: new URLSearchParams(params).toString(),
    });
  }

  function messageReceipt(sid: string, status: string, extra: Record<string, string> = {}) {
    return {
      AccountSid: fake.accountSid,
      MessageSid: sid,
      SmsSid: sid,
      MessageStatus: status,
      SmsStatus: status,
      To: '+919876543219',
      From: '+15005550006',
      ApiVersion: '2010-04-01',
      ...extra,
    };
  }

  async function sentSms(): Promise<{ sid: string; e164: string; authCode: string }> {
    const phone = uniquePhone();
    const sent = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      headers: { 'user-jwt-token': newPartnerUser().token },
      body: { phone_number: phone.national, countryCode: '+91' },
    });
    expect(sent.status).toBe(200);
    return { sid: fake.messages[0].sid, e164: phone.e164, authCode: String(sent.body.authCode) };
  }

  async function deliveryStatus(sid: string): Promise<string | null> {
    const [row] = await t.dataSource.query<Array<{ delivery_status: string | null }>>(
      `SELECT delivery_status FROM outbox_messages WHERE provider_message_id = $1`,
      [sid],
    );
    return row.delivery_status;
  }

  async function receiptEvents(authCode: string): Promise<string[]> {
    const rows = await t.dataSource.query<Array<{ detail: string }>>(
      `SELECT detail FROM audit_events
        WHERE event = 'receipt'
          AND challenge_id = (SELECT id FROM otp_challenges WHERE auth_code = $1)
        ORDER BY id`,
      [authCode],
    );
    return rows.map((row) => row.detail);
  }

  it('asks for receipts on every message and call, at PUBLIC_URL', async () => {
    await sentSms();
    expect(fake.requests[0].form.StatusCallback).toBe(CALLBACK);
  });

  it('records each status forwards, in the audit trail and the metrics', async () => {
    const { sid, authCode } = await sentSms();

    const sent = await callback(messageReceipt(sid, 'sent'));
    expect(sent.status).toBe(200);
    expect(sent.body).toEqual({ receipt: 'recorded' });
    expect(await deliveryStatus(sid)).toBe('sent');

    const delivered = await callback(messageReceipt(sid, 'delivered'));
    expect(delivered.body).toEqual({ receipt: 'recorded' });
    expect(await deliveryStatus(sid)).toBe('delivered');

    expect(await receiptEvents(authCode)).toEqual([`sms ${sid} sent`, `sms ${sid} delivered`]);
    const metrics = await http(t.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(
      /otp_delivery_receipts_total\{channel="sms",status="delivered"\} [1-9]/,
    );
  });

  it('never goes back: a late "sent" after "delivered", and repeats, change nothing', async () => {
    const { sid, authCode } = await sentSms();

    expect((await callback(messageReceipt(sid, 'delivered'))).body).toEqual({
      receipt: 'recorded',
    });
    expect((await callback(messageReceipt(sid, 'sent'))).body).toEqual({ receipt: 'unchanged' });
    expect((await callback(messageReceipt(sid, 'queued'))).body).toEqual({
      receipt: 'unchanged',
    });
    expect((await callback(messageReceipt(sid, 'delivered'))).body).toEqual({
      receipt: 'unchanged',
    });
    // A final status does not replace another final one.
    expect((await callback(messageReceipt(sid, 'undelivered'))).body).toEqual({
      receipt: 'unchanged',
    });

    expect(await deliveryStatus(sid)).toBe('delivered');
    expect(await receiptEvents(authCode)).toEqual([`sms ${sid} delivered`]);
  });

  it('records an undelivered receipt with its error code', async () => {
    const { sid, authCode } = await sentSms();

    await callback(messageReceipt(sid, 'undelivered', { ErrorCode: '30003' }));

    expect(await deliveryStatus(sid)).toBe('undelivered');
    expect(await receiptEvents(authCode)).toEqual([`sms ${sid} undelivered (error 30003)`]);
  });

  it('records a call status', async () => {
    const phone = uniquePhone();
    const sent = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      headers: { 'user-jwt-token': newPartnerUser().token },
      body: { phone_number: phone.national, countryCode: '+91', channel: 'voice' },
    });
    expect(sent.status).toBe(200);
    expect(fake.requests[0].form.StatusCallback).toBe(CALLBACK);
    const sid = fake.calls[0].sid;

    const answer = await callback({
      AccountSid: fake.accountSid,
      CallSid: sid,
      CallStatus: 'completed',
      CallDuration: '21',
    });

    expect(answer.body).toEqual({ receipt: 'recorded' });
    expect(await deliveryStatus(sid)).toBe('completed');
  });

  it.each([
    ['no signature', null],
    ['an empty signature', ''],
    ['a signature made with another token', 'other-token'],
    ['a signature over another URL', 'other-url'],
    ['a garbage signature', 'x'.repeat(5000)],
  ])(
    'refuses a callback with %s: 403 INVALID_SIGNATURE, nothing recorded',
    async (_label, kind) => {
      const { sid, authCode } = await sentSms();
      const params = messageReceipt(sid, 'delivered');
      const signature =
        kind === 'other-token'
          ? getExpectedTwilioSignature('another-auth-token', CALLBACK, params)
          : kind === 'other-url'
            ? getExpectedTwilioSignature(fake.authToken, `${PUBLIC_URL}/elsewhere`, params)
            : kind;

      const answer = await callback(params, signature);

      expect(answer.status).toBe(403);
      expect(answer.body).toMatchObject({ error: 'INVALID_SIGNATURE' });
      expect(await deliveryStatus(sid)).toBeNull();
      expect(await receiptEvents(authCode)).toEqual([]);
    },
  );

  it('refuses a tampered body (signed for "failed", sent as "delivered")', async () => {
    const { sid } = await sentSms();
    const signature = getExpectedTwilioSignature(
      fake.authToken,
      CALLBACK,
      messageReceipt(sid, 'failed'),
    );

    const answer = await callback(messageReceipt(sid, 'delivered'), signature);

    expect(answer.status).toBe(403);
    expect(await deliveryStatus(sid)).toBeNull();
  });

  it('refuses a correctly signed callback of another Twilio account', async () => {
    const { sid } = await sentSms();
    const answer = await callback(
      messageReceipt(sid, 'delivered', { AccountSid: 'AC' + '1'.repeat(32) }),
    );
    expect(answer.status).toBe(403);
    expect(await deliveryStatus(sid)).toBeNull();
  });

  it('refuses a JSON body, signed or not', async () => {
    const { sid } = await sentSms();
    const params = messageReceipt(sid, 'delivered');
    const answer = await http(t.url, 'POST', HOOK, {
      headers: {
        'x-twilio-signature': getExpectedTwilioSignature(fake.authToken, CALLBACK, params),
      },
      body: { ...params, MessageStatus: ['delivered'] },
    });
    expect(answer.status).toBe(403);
    expect(await deliveryStatus(sid)).toBeNull();
  });

  it.each([
    ['an unknown status', { MessageStatus: 'pwned', SmsStatus: 'pwned' }, 'MessageStatus'],
    ['a status of 10 000 characters', { MessageStatus: 'd'.repeat(10_000) }, 'MessageStatus'],
    ['a SID that is no SID', { MessageSid: "SM' OR 1=1 --" }, 'MessageSid'],
    ['an empty SID', { MessageSid: '' }, 'MessageSid'],
  ])('answers a signed callback with %s 400 VALIDATION_FAILED', async (_label, change, field) => {
    const { sid } = await sentSms();
    const answer = await callback(messageReceipt(sid, 'delivered', change));
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'VALIDATION_FAILED' });
    expect((answer.body.details as Array<{ field: string }>).map((d) => d.field)).toContain(field);
    expect(await deliveryStatus(sid)).toBeNull();
  });

  async function challengeOf(authCode: string): Promise<string> {
    const [row] = await t.dataSource.query<Array<{ id: string }>>(
      `SELECT id FROM otp_challenges WHERE auth_code = $1`,
      [authCode],
    );
    return row.id;
  }

  it("the admin view lists a code's message with each delivery status and its time, in order", async () => {
    const { sid, e164, authCode } = await sentSms();
    const challengeId = await challengeOf(authCode);
    const code = /\d{6}/.exec(fake.requests[0].form.Body)![0];
    await callback(messageReceipt(sid, 'queued'));
    t.clock.advance(2);
    await callback(messageReceipt(sid, 'sent'));
    t.clock.advance(3);
    await callback(messageReceipt(sid, 'delivered'));
    await callback(messageReceipt(sid, 'sent')); // late: not a status of the message

    const byChallenge = await adminApi(t, 'GET', `/messages?challengeId=${challengeId}`);
    expect(byChallenge.status).toBe(200);
    expect(byChallenge.body.items).toHaveLength(1);
    const [message] = byChallenge.body.items;
    expect(message).toMatchObject({
      challengeId,
      channel: 'sms',
      status: 'sent',
      providerMessageId: sid,
      deliveryStatus: 'delivered',
      fallbackOf: null,
    });
    expect(message.to).not.toContain(e164.slice(3, -3));
    expect(message.sentAt).toEqual(expect.any(String));
    const statuses = message.deliveryStatuses as Array<{ status: string; at: string }>;
    expect(statuses.map((s) => s.status)).toEqual(['queued', 'sent', 'delivered']);
    const times = statuses.map((s) => Date.parse(s.at));
    expect(times[1] - times[0]).toBeGreaterThanOrEqual(2000);
    expect(times[2] - times[1]).toBeGreaterThanOrEqual(3000);
    // Never the code, its payload or the phone in the clear.
    expect(byChallenge.text).not.toContain(code);
    expect(byChallenge.text).not.toContain(e164);
    expect(byChallenge.text).not.toMatch(/payload|body/i);

    const byPhone = await adminApi(t, 'GET', `/messages?phone=${encodeURIComponent(e164)}`);
    expect(byPhone.status).toBe(200);
    expect(byPhone.body.items).toEqual(byChallenge.body.items);

    const viaCli = await cli(t, 'messages', '--phone', e164);
    expect(viaCli.exitCode).toBe(0);
    expect(viaCli.json.items).toEqual(byChallenge.body.items);
  });

  it('the admin view shows the error code of an undelivered status', async () => {
    const { sid, e164 } = await sentSms();
    await callback(messageReceipt(sid, 'undelivered', { ErrorCode: '30003' }));
    const answer = await adminApi(t, 'GET', `/messages?phone=${encodeURIComponent(e164)}`);
    expect(answer.body.items[0].deliveryStatuses).toEqual([
      { status: 'undelivered', errorCode: '30003', at: expect.any(String) },
    ]);
  });

  it('the admin view answers an unknown code or phone with no messages', async () => {
    const unknown = await adminApi(
      t,
      'GET',
      '/messages?challengeId=00000000-0000-4000-8000-000000000000',
    );
    expect(unknown.status).toBe(200);
    expect(unknown.body).toEqual({ items: [] });
    const phone = await adminApi(
      t,
      'GET',
      `/messages?phone=${encodeURIComponent(uniquePhone().e164)}`,
    );
    expect(phone.body).toEqual({ items: [] });
  });

  it.each([
    ['nothing', ''],
    [
      'both a challenge and a phone',
      '?challengeId=00000000-0000-4000-8000-000000000000&phone=%2B919876543219',
    ],
    ['a challenge id that is no UUID', "?challengeId=1'%20OR%201=1%20--"],
    [
      'a challenge id given twice',
      '?challengeId=00000000-0000-4000-8000-000000000000&challengeId=00000000-0000-4000-8000-000000000001',
    ],
    ['a phone that is no phone', '?phone=abc'],
    ['a national phone', '?phone=9876543219'],
    ['an oversized phone', `?phone=%2B${'9'.repeat(5000)}`],
    ['a phone with a control character', '?phone=%2B91%0A9876543219'],
  ])('the admin view answers %s 400 VALIDATION_FAILED', async (_label, query) => {
    const answer = await adminApi(t, 'GET', `/messages${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body).toMatchObject({ error: 'VALIDATION_FAILED' });
  });

  it('the CLI refuses a challenge id that is no UUID', async () => {
    const run = await cli(t, 'messages', '--challenge', "x' OR 1=1");
    expect(run.exitCode).not.toBe(0);
    expect(run.error).toMatchObject({ error: 'VALIDATION_FAILED' });
  });

  it.each([
    ['no admin key', null],
    ['a wrong admin key', 'wrong-key'],
  ])('the admin view refuses %s: 401', async (_label, key) => {
    const { e164 } = await sentSms();
    const answer = await adminApi(t, 'GET', `/messages?phone=${encodeURIComponent(e164)}`, { key });
    expect(answer.status).toBe(401);
  });

  it('answers a receipt for a message it does not know 200, recording nothing', async () => {
    const answer = await callback(messageReceipt('SM' + 'f'.repeat(32), 'delivered'));
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ receipt: 'unknown' });
  });

  it('still refuses form bodies on /fe', async () => {
    const answer = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      headers: {
        'user-jwt-token': newPartnerUser().token,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: 'phone_number=9876543219&countryCode=%2B91',
    });
    expect(answer.status).toBe(415);
    expect(answer.body).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('Fallback on receipts: undelivered, or not confirmed in time', () => {
  let fake: TwilioFake;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp({
      NOTIFY_CHANNELS: 'sms,voice',
      NOTIFY_FALLBACK: 'sms>voice',
      NOTIFY_FALLBACK_AFTER_SECONDS: '30',
      NOTIFY_DRIVER: 'twilio',
      TWILIO_API_URL: fake.url,
      TWILIO_ACCOUNT_SID: fake.accountSid,
      TWILIO_AUTH_TOKEN: fake.authToken,
      TWILIO_FROM: '+15005550006',
      PUBLIC_URL: PUBLIC_URL,
      ADMIN_API_KEY: TEST_ADMIN_KEY,
    });
  });
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  function receipt(sid: string, status: string): Promise<HttpResult> {
    const params = { AccountSid: fake.accountSid, MessageSid: sid, MessageStatus: status };
    return http(t.url, 'POST', HOOK, {
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        'x-twilio-signature': getExpectedTwilioSignature(fake.authToken, CALLBACK, params),
      },
      body: new URLSearchParams(params).toString(),
    });
  }

  async function register(token = newPartnerUser().token) {
    const phone = uniquePhone();
    const sent = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      headers: { 'user-jwt-token': token },
      body: { phone_number: phone.national, countryCode: '+91' },
    });
    expect(sent.status).toBe(200);
    const request = fake.requests.find((r) => r.form.To === phone.e164 && r.form.Body);
    const message = fake.messages.find((m) => m.to === phone.e164);
    if (!request || !message) throw new Error('no SMS at the fake');
    const smsCode = /\d{6}/.exec(request.form.Body)![0];
    return { ...phone, sms: message.sid, smsCode, authCode: sent.body.authCode as string };
  }

  function verify(token: string, phone: { national: string }, authCode: string, otp: string) {
    return http(t.url, 'POST', '/fe/users/auth/otp/verify', {
      headers: { 'user-jwt-token': token },
      body: { phone_number: phone.national, countryCode: '+91', authCode, otp },
    });
  }

  async function statuses(e164: string): Promise<string[]> {
    const rows = await t.dataSource.query<Array<{ channel: string; status: string }>>(
      `SELECT channel, status FROM outbox_messages WHERE recipient = $1
        ORDER BY after_id NULLS FIRST`,
      [e164],
    );
    return rows.map((row) => `${row.channel}:${row.status}`);
  }

  /** Runs the outbox's work until a call to `e164` was made (or 10 s passed). */
  async function callTo(e164: string) {
    const outbox = t.app.get(OutboxService);
    const deadline = Date.now() + 10_000;
    for (;;) {
      const call = fake.calls.find((c) => c.to === e164);
      if (call || Date.now() > deadline) return call;
      await outbox.releaseUnconfirmed();
      await outbox.deliverDue();
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  function digits(twiml: string): string {
    const said = [...twiml.matchAll(/<Say language="[^"]+">(\d)<\/Say>/g)].map((m) => m[1]);
    return said.slice(0, said.length / 2).join('');
  }

  it('keeps the fallback held while the SMS awaits its receipt', async () => {
    const { e164 } = await register();
    expect(await statuses(e164)).toEqual(['sms:sent', 'voice:held']);
  });

  it('SMS receipt undelivered → a call with the same code', async () => {
    const { e164, sms, smsCode } = await register();

    expect((await receipt(sms, 'undelivered')).body).toEqual({ receipt: 'recorded' });

    const call = await callTo(e164);
    expect(call).toBeDefined();
    expect(digits(call!.twiml)).toBe(smsCode);
    expect(await statuses(e164)).toEqual(['sms:sent', 'voice:sent']);
    // A repeated receipt releases nothing more.
    expect((await receipt(sms, 'undelivered')).body).toEqual({ receipt: 'unchanged' });
  });

  it('the admin view shows the SMS, its receipt and the fallback call, in chain order', async () => {
    const { e164, sms } = await register();
    await receipt(sms, 'undelivered');
    const call = await callTo(e164);

    const answer = await adminApi(t, 'GET', `/messages?phone=${encodeURIComponent(e164)}`);

    expect(answer.status).toBe(200);
    const [first, second] = answer.body.items;
    expect(answer.body.items).toHaveLength(2);
    expect(first).toMatchObject({
      channel: 'sms',
      status: 'sent',
      providerMessageId: sms,
      deliveryStatus: 'undelivered',
      fallbackOf: null,
      deliveryStatuses: [{ status: 'undelivered', errorCode: null, at: expect.any(String) }],
    });
    expect(second).toMatchObject({
      channel: 'voice',
      status: 'sent',
      providerMessageId: call!.sid,
      fallbackOf: first.messageId,
      challengeId: first.challengeId,
      deliveryStatuses: [],
    });
  });

  it('no receipt within NOTIFY_FALLBACK_AFTER_SECONDS → a call with the same code', async () => {
    const { e164, smsCode } = await register();
    const outbox = t.app.get(OutboxService);
    expect(await outbox.releaseUnconfirmed()).toBe(0); // not yet
    expect(await statuses(e164)).toEqual(['sms:sent', 'voice:held']);

    t.clock.advance(31);
    const call = await callTo(e164);

    expect(call).toBeDefined();
    expect(digits(call!.twiml)).toBe(smsCode);
  });

  it('a delivered receipt supersedes the fallback: no call, even after the timeout', async () => {
    const { e164 } = await register();

    await receipt(sms(e164), 'delivered');
    t.clock.advance(31);
    const outbox = t.app.get(OutboxService);
    await outbox.releaseUnconfirmed();
    await outbox.deliverDue();

    expect(fake.calls.some((c) => c.to === e164)).toBe(false);
    expect(await statuses(e164)).toEqual(['sms:sent', 'voice:superseded']);
  });

  it('a verified code cancels its fallback: no call with a used code after the timeout', async () => {
    const { token } = newPartnerUser();
    const phone = await register(token);
    expect((await verify(token, phone, phone.authCode, phone.smsCode)).status).toBe(200);
    expect(await statuses(phone.e164)).toEqual(['sms:sent', 'voice:superseded']);

    t.clock.advance(31);
    const outbox = t.app.get(OutboxService);
    expect(await outbox.releaseUnconfirmed()).toBe(0);
    await outbox.deliverDue();
    expect(fake.calls.some((c) => c.to === phone.e164)).toBe(false);
  });

  it('a code locked by wrong attempts cancels its fallback too', async () => {
    const { token } = newPartnerUser();
    const phone = await register(token);
    const wrong = phone.smsCode === '000000' ? '111111' : '000000';
    let answer;
    do {
      answer = await verify(token, phone, phone.authCode, wrong);
      expect(answer.status).toBe(400);
      // Still live: the fallback waits.
      if ((answer.body.attemptsLeft as number) > 0) {
        expect(await statuses(phone.e164)).toEqual(['sms:sent', 'voice:held']);
      }
    } while ((answer.body.attemptsLeft as number) > 0);
    expect(await statuses(phone.e164)).toEqual(['sms:sent', 'voice:superseded']);
    t.clock.advance(31);
    expect(await t.app.get(OutboxService).releaseUnconfirmed()).toBe(0);
  });

  function sms(e164: string): string {
    const message = fake.messages.find((m) => m.to === e164);
    if (!message) throw new Error('no SMS');
    return message.sid;
  }
});
