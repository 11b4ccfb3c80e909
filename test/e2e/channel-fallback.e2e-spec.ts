import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { OutboxService } from '@app/notifications';
import { createTestDatabase, e2eDatabase, TestDatabase } from '../support/test-database';
import { http, HttpResult } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';
import { uniquePhone } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';
import { RecordedRequest, startTwilioFake, TwilioFake } from '../support/twilio-fake';

/**
 * Fallback along NOTIFY_FALLBACK (CHANNELS.md): when a channel refuses a code for good, the same
 * code goes on the next enabled channel of the chain, within the code's lifetime. The fallback
 * messages are written with the first one (held), so a crash between two channels loses nothing.
 * Against the loopback Twilio fake, on the embedded database and on PostgreSQL.
 */

const REGISTER = '/fe/users/auth/otp/register';
const RESEND = '/fe/users/auth/otp/resend';
const VERIFY = '/fe/users/auth/otp/verify';

/** Twilio's answer for a number that cannot get SMS (a landline): permanent. */
const NOT_MOBILE = { status: 400, body: { code: 21614, message: 'not mobile', status: 400 } };
const NOT_ON_WHATSAPP = { status: 400, body: { code: 63024, message: 'invalid', status: 400 } };

function codeIn(request: RecordedRequest): string {
  if (request.form.Twiml !== undefined) {
    const said = [...request.form.Twiml.matchAll(/<Say language="[^"]+">(\d)<\/Say>/g)]
      .map((say) => say[1])
      .join('');
    return said.slice(0, said.length / 2);
  }
  const match = /(?<!\d)(\d{6})(?!\d)/.exec(request.form.Body ?? '');
  if (!match) throw new Error('the message carries no 6-digit code');
  return match[1];
}

function env(fake: TwilioFake): Record<string, string> {
  return {
    NOTIFY_CHANNELS: 'sms,whatsapp,voice',
    NOTIFY_FALLBACK: 'sms>whatsapp>voice',
    NOTIFY_DRIVER: 'twilio',
    TWILIO_API_URL: fake.url,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: '+15005550006',
    TWILIO_WHATSAPP_FROM: 'whatsapp:+14155238886',
    BLOCKED_NUMBER_TYPES: 'none',
  };
}

interface Row {
  id: string;
  after_id: string | null;
  created_at: Date;
  channel: string;
  status: string;
  attempts: number;
  has_payload: boolean;
  expires_at: Date;
}

async function rows(t: TestApp, e164: string): Promise<Row[]> {
  const found = await t.dataSource.query<Row[]>(
    `SELECT id, after_id, created_at, channel, status, attempts,
            payload IS NOT NULL AS has_payload, expires_at
       FROM outbox_messages WHERE recipient = $1`,
    [e164],
  );
  // Each code's chain in order (its first message, then what falls back from each), oldest first.
  const chains: Row[] = [];
  const heads = found
    .filter((row) => row.after_id === null)
    .sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime());
  for (const head of heads) {
    let row: Row | undefined = head;
    while (row) {
      chains.push({ ...row, expires_at: new Date(row.expires_at) });
      const id: string = row.id;
      row = found.find((next) => next.after_id === id);
    }
  }
  return chains;
}

describe('Fallback between channels', () => {
  let fake: TwilioFake;
  let t: TestApp;

  beforeAll(async () => {
    fake = await startTwilioFake();
    t = await startTestApp(env(fake));
  });
  // The fake's scripted answers go to whichever request comes next: retire what earlier tests
  // left pending (retries the background poller would send meanwhile) before each test.
  beforeEach(async () => {
    await t.dataSource.query(
      `UPDATE outbox_messages SET status = 'superseded', payload = NULL
        WHERE status IN ('pending', 'held')`,
    );
  });
  afterEach(() => fake.reset());
  afterAll(async () => {
    await t?.close();
    await fake?.close();
  });

  function post(path: string, token: string, body: Record<string, unknown>): Promise<HttpResult> {
    return http(t.url, 'POST', path, { headers: { 'user-jwt-token': token }, body });
  }

  it('SMS refused for good → WhatsApp delivers the same code, which verifies', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith(NOT_MOBILE);

    const sent = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });

    expect(sent.status).toBe(200);
    expect(sent.body.channel).toBe('sms'); // the channel it was first sent on
    expect(fake.requests.map((request) => request.form.To)).toEqual([
      phone.e164,
      `whatsapp:${phone.e164}`,
    ]);
    const [sms, whatsapp] = fake.requests;
    expect(codeIn(whatsapp)).toBe(codeIn(sms));

    const outbox = await rows(t, phone.e164);
    expect(outbox.map((row) => [row.channel, row.status])).toEqual([
      ['sms', 'failed'],
      ['whatsapp', 'sent'],
      ['voice', 'superseded'],
    ]);
    // Never a longer lifetime: every message of the chain expires with the code.
    expect(new Set(outbox.map((row) => row.expires_at.getTime())).size).toBe(1);
    expect(outbox.some((row) => row.has_payload)).toBe(false);

    const verified = await post(VERIFY, token, {
      phone_number: phone.national,
      countryCode: '+91',
      authCode: sent.body.authCode,
      otp: codeIn(whatsapp),
    });
    expect(verified.status).toBe(200);

    const events = await t.dataSource.query<Array<{ event: string; detail: string | null }>>(
      `SELECT event, detail FROM audit_events
        WHERE challenge_id = (SELECT id FROM otp_challenges WHERE auth_code = $1)
        ORDER BY id`,
      [String(sent.body.authCode)],
    );
    expect(events.map((event) => event.event)).toEqual([
      'requested',
      'delivery_failed',
      'fallback',
      'sent',
      'verified',
      'linked',
    ]);
    expect(events[2].detail).toBe('sms failed: whatsapp next');

    const metrics = await http(t.url, 'GET', '/metrics');
    expect(metrics.text).toMatch(/otp_fallbacks_total\{from="sms",to="whatsapp"\} [1-9]/);
  });

  it('SMS and WhatsApp refused → a voice call reads the same code', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith(NOT_MOBILE, NOT_ON_WHATSAPP);

    const sent = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });

    expect(sent.status).toBe(200);
    expect(fake.requests.map((request) => request.path.split('/').pop())).toEqual([
      'Messages.json',
      'Messages.json',
      'Calls.json',
    ]);
    expect(codeIn(fake.requests[2])).toBe(codeIn(fake.requests[0]));
    expect((await rows(t, phone.e164)).map((row) => row.status)).toEqual([
      'failed',
      'failed',
      'sent',
    ]);
  });

  it('answers 422 PHONE_UNDELIVERABLE when every channel of the chain refuses', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith(NOT_MOBILE, NOT_ON_WHATSAPP, TwilioError(21216));

    const sent = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });

    expect(sent.status).toBe(422);
    expect(fake.requests).toHaveLength(3);
  });

  it('follows the chain from the channel asked for: WhatsApp refused → voice', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith(NOT_ON_WHATSAPP);

    const sent = await post(REGISTER, token, {
      phone_number: phone.national,
      countryCode: '+91',
      channel: 'whatsapp',
    });

    expect(sent.status).toBe(200);
    expect(sent.body.channel).toBe('whatsapp');
    expect((await rows(t, phone.e164)).map((row) => row.channel)).toEqual(['whatsapp', 'voice']);
  });

  it('does not fall back on a transient failure: the outbox retries the same channel', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith({ status: 503 });

    const sent = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });

    expect(sent.status).toBe(200);
    expect(fake.requests).toHaveLength(1);
    expect((await rows(t, phone.e164)).map((row) => [row.channel, row.status])).toEqual([
      ['sms', 'pending'],
      ['whatsapp', 'held'],
      ['voice', 'held'],
    ]);
  });

  it('a resend supersedes the held fallbacks of the earlier code', async () => {
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    fake.respondWith({ status: 503 });
    const first = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });
    expect(first.status).toBe(200);
    t.clock.advance(31);

    const again = await post(RESEND, token, { phone_number: phone.national, countryCode: '+91' });

    expect(again.status).toBe(200);
    expect((await rows(t, phone.e164)).map((row) => [row.channel, row.status])).toEqual([
      ['sms', 'superseded'],
      ['whatsapp', 'superseded'],
      ['voice', 'superseded'],
      ['sms', 'sent'],
      ['whatsapp', 'superseded'],
      ['voice', 'superseded'],
    ]);
  });

  it('counts calls written as fallbacks toward the call cap: past it, the chain has no call', async () => {
    const phone = uniquePhone();
    // Every SMS waits on the outbox's retry, so each code keeps its fallbacks held.
    fake.respondWith({ status: 503 }, { status: 503 }, { status: 503 }, { status: 503 });
    for (let i = 0; i < 4; i++) {
      const { token } = newPartnerUser();
      const sent = await post(REGISTER, token, {
        phone_number: phone.national,
        countryCode: '+91',
      });
      expect(sent.status).toBe(200);
    }
    const chains = (await rows(t, phone.e164)).map((row) => row.channel);
    // OTP_MAX_CALLS_PER_PHONE_PER_HOUR is 3: three chains hold a call, the fourth does not.
    expect(chains).toEqual([
      ...['sms', 'whatsapp', 'voice'],
      ...['sms', 'whatsapp', 'voice'],
      ...['sms', 'whatsapp', 'voice'],
      ...['sms', 'whatsapp'],
    ]);
    // A call asked for first is refused the same way: the cap is full.
    const { token } = newPartnerUser();
    const call = await post(REGISTER, token, {
      phone_number: phone.national,
      countryCode: '+91',
      channel: 'voice',
    });
    expect(call.status).toBe(429);
    expect(call.body).toMatchObject({ error: 'RATE_LIMITED' });
  });

  it('never falls back to a call to a premium-rate number', async () => {
    const { token } = newPartnerUser();
    fake.respondWith(NOT_MOBILE, NOT_ON_WHATSAPP);

    const sent = await post(REGISTER, token, { phone_number: '9098790000', countryCode: '+44' });

    expect(sent.status).toBe(422);
    expect(fake.calls).toHaveLength(0);
    expect((await rows(t, '+449098790000')).map((row) => row.channel)).toEqual(['sms', 'whatsapp']);
  });

  it('a fallback released while the poller runs is sent once, by the poller', async () => {
    // The fake's scripted answers go to whichever request comes next: retire what earlier
    // tests left pending, so the background poller sends nothing else meanwhile.
    await t.dataSource.query(
      `UPDATE outbox_messages SET status = 'superseded', payload = NULL
        WHERE status IN ('pending', 'held')`,
    );
    const { token } = newPartnerUser();
    const phone = uniquePhone();
    // The SMS fails transiently inline, then for good on the poller's retry.
    fake.respondWith({ status: 503 }, NOT_MOBILE);
    const sent = await post(REGISTER, token, { phone_number: phone.national, countryCode: '+91' });
    expect(sent.status).toBe(200);

    const outbox = t.app.get(OutboxService);
    t.clock.advance(10);
    const deadline = Date.now() + 10_000;
    const mine = () => fake.requests.filter((request) => request.form.To?.endsWith(phone.e164));
    while (!fake.messages.some((m) => m.to.endsWith(phone.e164)) && Date.now() < deadline) {
      await Promise.all([outbox.deliverDue(), outbox.deliverDue()]);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(
      fake.messages.map((message) => message.to).filter((to) => to.endsWith(phone.e164)),
    ).toEqual([`whatsapp:${phone.e164}`]);
    const requests = mine();
    expect(requests.map((request) => request.form.To)).toEqual([
      phone.e164,
      phone.e164,
      `whatsapp:${phone.e164}`,
    ]);
    expect(codeIn(requests[2])).toBe(codeIn(requests[0]));
  });
});

function TwilioError(code: number) {
  return { status: 400, body: { code, message: 'refused', status: 400 } };
}

describe('Fallback across a restart between two channels', () => {
  it('the fallback released by the first channel survives the process: the next one sends it', async () => {
    const fake = await startTwilioFake();
    const embedded = e2eDatabase() === 'embedded';
    const dataDir = mkdtempSync(join(tmpdir(), 'otp-link-fallback-'));
    const database: TestDatabase | undefined = embedded ? undefined : await createTestDatabase();
    // Two processes one after the other on one database: a file for the embedded database.
    const start = () =>
      startTestApp(
        { ...env(fake), ...(embedded ? { DATA_DIR: dataDir } : {}) },
        database ? { database } : {},
      );
    const first = await start();
    let second: TestApp | undefined;
    try {
      const { token } = newPartnerUser();
      const phone = uniquePhone();
      // SMS refused for good; WhatsApp, released at once, meets an outage.
      fake.respondWith(NOT_MOBILE, { status: 503 });
      const sent = await http(first.url, 'POST', REGISTER, {
        headers: { 'user-jwt-token': token },
        body: { phone_number: phone.national, countryCode: '+91' },
      });
      expect(sent.status).toBe(200);
      expect((await rows(first, phone.e164)).map((row) => [row.channel, row.status])).toEqual([
        ['sms', 'failed'],
        ['whatsapp', 'pending'],
        ['voice', 'held'],
      ]);
      await first.close();

      second = await start();
      second.clock.advance(10);
      const outbox = second.app.get(OutboxService);
      const deadline = Date.now() + 10_000;
      while (fake.messages.length === 0 && Date.now() < deadline) {
        await outbox.deliverDue();
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      expect(fake.messages.map((message) => message.to)).toEqual([`whatsapp:${phone.e164}`]);
      const [sms, , whatsapp] = fake.requests;
      expect(codeIn(whatsapp)).toBe(codeIn(sms));

      const verified = await http(second.url, 'POST', VERIFY, {
        headers: { 'user-jwt-token': token },
        body: {
          phone_number: phone.national,
          countryCode: '+91',
          authCode: sent.body.authCode,
          otp: codeIn(whatsapp),
        },
      });
      expect(verified.status).toBe(200);
    } finally {
      await second?.close();
      await database?.drop();
      await fake.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
