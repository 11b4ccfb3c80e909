import { ChaosDatabase, createChaosDatabase } from '../support/chaos-database';
import { uniquePhone } from '../support/otp-client';
import { startTcpProxy, TcpProxy } from '../support/tcp-proxy';
import { newPartnerUser } from '../support/tokens';
import { RecordedRequest, startTwilioFake, TwilioFake } from '../support/twilio-fake';
import { api, ApiProcesses, loadEnv, report, sleep, twilioEnv, waitFor } from './helpers';

/**
 * The API killed with SIGKILL after the register's transaction committed and before its first
 * delivery attempt was recorded. The outbox row holds a lease of 2 × NOTIFY_TIMEOUT_MS + 5 s for
 * the inline attempt; a restarted instance's poller must deliver the message once the lease has
 * passed, and never again afterwards.
 *
 * NOTIFY_TIMEOUT_MS = 1000, so the lease is 7 s. The fake holds its answer to the inline attempt
 * for 900 ms, just under the timeout: long enough for the test to see the request arrive and
 * SIGKILL the API before any answer (the kill takes a few ms), short of the timeout so that, had
 * the kill come too late, the API would have recorded a success and the assertions below would
 * show it (1 request, attempts 1) instead of passing by accident.
 */

const TIMEOUT_MS = 1000;
const LEASE_MS = 2 * TIMEOUT_MS + 5000;
const FAKE_HOLD_MS = 900;

interface OutboxRow {
  id: string;
  status: string;
  attempts: number;
  payload: Buffer | null;
  provider_message_id: string | null;
  created_at: Date;
  next_attempt_at: Date;
  sent_at: Date | null;
}

describe('SIGKILL between commit and delivery', () => {
  const apis = new ApiProcesses();
  let db: ChaosDatabase;
  let fake: TwilioFake;
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    db = await createChaosDatabase();
    fake = await startTwilioFake();
  });

  afterEach(async () => {
    await apis.stopAll(); // by PID, even when the test failed
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await fake?.close();
    await db?.drop();
  });

  const env = (twilioUrl = fake.url) => ({
    ...loadEnv(),
    ...twilioEnv(fake, twilioUrl),
    DATABASE_URL: db.url,
    NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS),
  });
  const requestsTo = (e164: string): RecordedRequest[] =>
    fake.requests.filter((r) => r.form.To === e164);
  const acceptedFor = (e164: string) => fake.messages.filter((m) => m.to === e164);
  const outboxRow = async (e164: string): Promise<OutboxRow> => {
    const rows = await db.query<OutboxRow>(
      `SELECT id, status, attempts, payload, provider_message_id, created_at, next_attempt_at,
              sent_at
         FROM outbox_messages WHERE recipient = $1`,
      [e164],
    );
    expect(rows).toHaveLength(1);
    return rows[0];
  };

  it('killed while the provider holds the inline attempt: sent again once after the lease (2 requests, attempts 2), then never again', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const first = await apis.start(env());

    fake.respondWith({ status: 201, delayMs: FAKE_HOLD_MS });
    const registering = api.register(first.url, user.token, phone.national, 10_000);
    await waitFor('the fake to receive the inline attempt', () => requestsTo(phone.e164).length, {
      timeoutMs: 10_000,
      intervalMs: 2,
    });
    const receivedAt = Date.now();
    first.server.kill(); // SIGKILL by PID
    const killedAfterMs = Date.now() - receivedAt;
    expect(await first.server.exited).toEqual({ code: null, signal: 'SIGKILL' });
    // The process died before the fake answered: the register never got an answer either.
    expect(killedAfterMs).toBeLessThan(FAKE_HOLD_MS);
    const answer = await registering;
    expect(answer.status).toBe(0);

    // Committed: the message waits in the outbox under the inline attempt's lease.
    const left = await outboxRow(phone.e164);
    expect(left).toMatchObject({ status: 'pending', attempts: 1, provider_message_id: null });
    expect(left.payload).not.toBeNull();
    expect(left.next_attempt_at.getTime() - left.created_at.getTime()).toBe(LEASE_MS);

    // The fake answers the dead connection 900 ms after it got the request. Twilio would have
    // created (and sent) that message: the first SMS goes out, but its outcome is lost.
    await waitFor('the fake to answer the first request', () => acceptedFor(phone.e164).length);

    const restartedAt = Date.now();
    const second = await apis.start(env());
    const restartMs = Date.now() - restartedAt;
    await waitFor('the restarted instance to send it', () => requestsTo(phone.e164).length >= 2, {
      timeoutMs: LEASE_MS + 15_000,
      intervalMs: 10,
    });
    const resentAt = Date.now();
    const sent = await waitFor(
      'the outbox row to be sent',
      async () => {
        const row = await outboxRow(phone.e164);
        return row.status === 'sent' ? row : undefined;
      },
      { timeoutMs: 10_000 },
    );

    // Not before the lease ended, and within a poll (1 s) plus slack after it (or after start).
    expect(resentAt).toBeGreaterThanOrEqual(left.next_attempt_at.getTime());
    expect(resentAt).toBeLessThan(
      Math.max(left.next_attempt_at.getTime(), restartedAt + restartMs) + 3_000,
    );
    // "Exactly once" as far as the outbox can know: one retry, recorded once. The first request
    // reached the provider but its answer was never recorded, so the poller sends the message
    // again: the fake saw exactly two identical requests and accepted both (the user gets the
    // same code twice; docs/architecture.md: delivery is at least once).
    const requests = requestsTo(phone.e164);
    expect(requests).toHaveLength(2);
    expect(requests[1].form).toEqual(requests[0].form);
    const accepted = acceptedFor(phone.e164);
    expect(accepted).toHaveLength(2);
    expect(sent).toMatchObject({ status: 'sent', attempts: 2, payload: null });
    expect(sent.provider_message_id).toBe(accepted[1].sid);

    // Nothing more: past another full lease and several polls, still exactly two requests.
    await sleep(LEASE_MS + 2_000);
    expect(requestsTo(phone.e164)).toHaveLength(2);
    expect(await outboxRow(phone.e164)).toMatchObject({ status: 'sent', attempts: 2 });

    // The code in the SMS works: the challenge committed before the kill.
    const code = /(?<!\d)(\d{6})(?!\d)/.exec(requests[1].form.Body)?.[1] ?? '';
    const [challenge] = await db.query<{ auth_code: string }>(
      `SELECT auth_code FROM otp_challenges WHERE target = $1`,
      [phone.e164],
    );
    const verified = await api.verify(
      second.url,
      user.token,
      phone.national,
      challenge.auth_code,
      code,
    );
    expect(verified.status).toBe(200);
    report('SIGKILL while the provider held the inline attempt', {
      killedAfterReceiptMs: killedAfterMs,
      restartMs,
      resentAfterCommitMs: resentAt - left.created_at.getTime(),
      leaseMs: LEASE_MS,
      providerRequests: requests.length,
      attempts: sent.attempts,
    });
  });

  it('killed before the inline attempt reached the provider: the restarted instance delivers it exactly once', async () => {
    // The API reaches the fake through a proxy that, for now, black-holes new connections: the
    // inline attempt's request leaves the API but never arrives.
    const { port } = new URL(fake.url);
    proxy = await startTcpProxy('127.0.0.1', Number(port));
    proxy.setMode('hold');
    const viaProxy = `http://127.0.0.1:${proxy.port}`;
    const held = proxy;
    const user = newPartnerUser();
    const phone = uniquePhone();
    const first = await apis.start(env(viaProxy));

    const registering = api.register(first.url, user.token, phone.national, 10_000);
    await waitFor('the inline attempt to be on the wire', () => held.heldBytes > 0, {
      timeoutMs: 10_000,
      intervalMs: 2,
    });
    first.server.kill(); // SIGKILL by PID
    expect(await first.server.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await registering).status).toBe(0);
    expect(requestsTo(phone.e164)).toHaveLength(0);
    const left = await outboxRow(phone.e164);
    expect(left).toMatchObject({ status: 'pending', attempts: 1 });
    expect(left.next_attempt_at.getTime() - left.created_at.getTime()).toBe(LEASE_MS);

    held.setMode('open');
    const second = await apis.start(env(viaProxy));
    await waitFor('the restarted instance to send it', () => requestsTo(phone.e164).length, {
      timeoutMs: LEASE_MS + 15_000,
      intervalMs: 10,
    });
    const resentAt = Date.now();
    const sent = await waitFor(
      'the outbox row to be sent',
      async () => {
        const row = await outboxRow(phone.e164);
        return row.status === 'sent' ? row : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(resentAt).toBeGreaterThanOrEqual(left.next_attempt_at.getTime());
    expect(sent).toMatchObject({ status: 'sent', attempts: 2, payload: null });
    expect(acceptedFor(phone.e164)).toHaveLength(1);
    expect(sent.provider_message_id).toBe(acceptedFor(phone.e164)[0].sid);

    // Exactly once: past another full lease and several polls, still one request, one message.
    await sleep(LEASE_MS + 2_000);
    expect(requestsTo(phone.e164)).toHaveLength(1);
    expect(acceptedFor(phone.e164)).toHaveLength(1);
    expect(await outboxRow(phone.e164)).toMatchObject({ status: 'sent', attempts: 2 });

    const code = /(?<!\d)(\d{6})(?!\d)/.exec(requestsTo(phone.e164)[0].form.Body)?.[1] ?? '';
    const [challenge] = await db.query<{ auth_code: string }>(
      `SELECT auth_code FROM otp_challenges WHERE target = $1`,
      [phone.e164],
    );
    expect(
      (await api.verify(second.url, user.token, phone.national, challenge.auth_code, code)).status,
    ).toBe(200);
    report('SIGKILL before the inline attempt reached the provider', {
      resentAfterCommitMs: resentAt - left.created_at.getTime(),
      leaseMs: LEASE_MS,
      providerRequests: requestsTo(phone.e164).length,
      attempts: sent.attempts,
    });
  });
});

/**
 * Crash between channels (CHANNELS.md fallback, issue 17): NOTIFY_FALLBACK=sms>voice, Twilio
 * refuses the SMS for good (21211), the API records that and releases the call, and is killed
 * with SIGKILL before the call reaches Twilio. The released call is in the outbox (pending,
 * leased to the dead process's inline attempt); a new process must make the call, with the
 * code the SMS carried, exactly once.
 *
 * The SMS's rejection is answered with `Connection: close`, so the call needs a new connection;
 * the test turns the proxy in front of the fake to `hold` while Twilio "thinks" about the SMS,
 * so the call's request is black-holed on the wire (it leaves the API, never reaches Twilio).
 */
describe('SIGKILL between channels: the first failed for good, its fallback not yet sent', () => {
  const apis = new ApiProcesses();
  let db: ChaosDatabase;
  let fake: TwilioFake;
  let proxy: TcpProxy | undefined;

  beforeAll(async () => {
    db = await createChaosDatabase();
    fake = await startTwilioFake();
  });

  afterEach(async () => {
    await apis.stopAll();
    await proxy?.close();
    proxy = undefined;
  });

  afterAll(async () => {
    await fake?.close();
    await db?.drop();
  });

  interface MessageRow {
    channel: string;
    status: string;
    attempts: number;
    payload: Buffer | null;
    provider_message_id: string | null;
    created_at: Date;
    next_attempt_at: Date;
  }

  const messages = (e164: string) =>
    db.query<MessageRow>(
      `SELECT channel, status, attempts, payload, provider_message_id, created_at,
              next_attempt_at
         FROM outbox_messages WHERE recipient = $1 ORDER BY after_id NULLS FIRST`,
      [e164],
    );

  /** The digits a call says (TwiML says the code twice, digit by digit). */
  const spoken = (twiml: string) => {
    const said = [...twiml.matchAll(/<Say language="[^"]+">(\d)<\/Say>/g)].map((m) => m[1]);
    return said.slice(0, said.length / 2).join('');
  };

  it('a new process makes the call with the same code, exactly once', async () => {
    const { port } = new URL(fake.url);
    proxy = await startTcpProxy('127.0.0.1', Number(port));
    const viaProxy = proxy;
    const env = {
      ...loadEnv(),
      ...twilioEnv(fake, `http://127.0.0.1:${proxy.port}`),
      DATABASE_URL: db.url,
      NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS),
      NOTIFY_CHANNELS: 'sms,voice',
      NOTIFY_FALLBACK: 'sms>voice',
    };
    const user = newPartnerUser();
    const phone = uniquePhone();
    const first = await apis.start(env);

    fake.respondWith({
      ...TwilioFake.error(400, 21211, "The 'To' number is not a valid phone number."),
      delayMs: 300,
      closeConnection: true,
    });
    const registering = api.register(first.url, user.token, phone.national, 10_000);
    await waitFor(
      'the SMS at the fake',
      () => fake.requests.some((r) => r.form.To === phone.e164),
      {
        timeoutMs: 10_000,
        intervalMs: 2,
      },
    );
    const sms = fake.requests.find((r) => r.form.To === phone.e164)!;
    expect(sms.path).toMatch(/\/Messages\.json$/);
    const smsCode = /(?<!\d)(\d{6})(?!\d)/.exec(sms.form.Body)?.[1] ?? '';
    expect(smsCode).toMatch(/^\d{6}$/);
    // New connections from now on are black-holed: the call will be on the wire, never there.
    viaProxy.setMode('hold');
    await waitFor('the call to be on the wire', () => viaProxy.heldBytes > 0, {
      timeoutMs: 10_000,
      intervalMs: 2,
    });
    first.server.kill(); // SIGKILL by PID
    expect(await first.server.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect((await registering).status).toBe(0);

    // The SMS's failure is recorded and the call released, leased to the dead inline attempt.
    const [smsRow, callRow] = await messages(phone.e164);
    expect(smsRow).toMatchObject({ channel: 'sms', status: 'failed', payload: null });
    expect(callRow).toMatchObject({ channel: 'voice', status: 'pending', attempts: 1 });
    expect(callRow.payload).not.toBeNull();
    expect(fake.calls.filter((c) => c.to === phone.e164)).toHaveLength(0);

    viaProxy.setMode('open');
    const second = await apis.start(env);
    const call = await waitFor(
      'the new process to make the call',
      () => fake.calls.find((c) => c.to === phone.e164),
      { timeoutMs: LEASE_MS + 15_000, intervalMs: 10 },
    );
    const calledAt = Date.now();
    const sent = await waitFor(
      'the call to be recorded sent',
      async () => {
        const [, row] = await messages(phone.e164);
        return row.status === 'sent' ? row : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(calledAt).toBeGreaterThanOrEqual(callRow.next_attempt_at.getTime());
    expect(spoken(call.twiml)).toBe(smsCode);
    expect(sent).toMatchObject({ status: 'sent', attempts: 2, payload: null });
    expect(sent.provider_message_id).toBe(call.sid);

    // Exactly once: past another full lease and several polls, one call, one SMS request.
    await sleep(LEASE_MS + 2_000);
    const toPhone = fake.requests.filter((r) => r.form.To === phone.e164);
    expect(toPhone.map((r) => (r.path.endsWith('/Calls.json') ? 'call' : 'sms'))).toEqual([
      'sms',
      'call',
    ]);
    expect(fake.calls.filter((c) => c.to === phone.e164)).toHaveLength(1);
    expect((await messages(phone.e164)).map((m) => `${m.channel}:${m.status}`)).toEqual([
      'sms:failed',
      'voice:sent',
    ]);

    // The code the call said works: the same code, still live.
    const [challenge] = await db.query<{ auth_code: string }>(
      `SELECT auth_code FROM otp_challenges WHERE target = $1`,
      [phone.e164],
    );
    expect(
      (await api.verify(second.url, user.token, phone.national, challenge.auth_code, smsCode))
        .status,
    ).toBe(200);
    report('SIGKILL between channels', {
      calledAfterCommitMs: calledAt - callRow.created_at.getTime(),
      leaseMs: LEASE_MS,
      providerRequests: toPhone.length,
      attempts: sent.attempts,
    });
  });
});
