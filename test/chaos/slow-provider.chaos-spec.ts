import { ChaosDatabase, createChaosDatabase } from '../support/chaos-database';
import { uniquePhone } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';
import { startTwilioFake, TwilioFake } from '../support/twilio-fake';
import {
  api,
  ApiProcesses,
  FakeScript,
  loadEnv,
  report,
  summarize,
  twilioEnv,
  waitFor,
} from './helpers';

/**
 * Twilio answers, but only after 5 s; NOTIFY_TIMEOUT_MS = 500. A register waits for the first
 * delivery attempt at most NOTIFY_TIMEOUT_MS, so it must answer within 500 ms + 100 ms (its
 * transaction, the retry bookkeeping and HTTP on loopback), measured as the maximum over 20
 * sequential registers after a warm-up.
 */

const TIMEOUT_MS = 500;
const MARGIN_MS = 100;
const FAKE_DELAY_MS = 5_000;
const WARM_UP = 5;
const MEASURED = 20;

describe('slow Twilio (5 s) with NOTIFY_TIMEOUT_MS=500', () => {
  const apis = new ApiProcesses();
  let db: ChaosDatabase;
  let fake: TwilioFake;
  let script: FakeScript;

  beforeAll(async () => {
    db = await createChaosDatabase();
    fake = await startTwilioFake();
    script = new FakeScript(fake);
  });

  afterEach(async () => {
    await apis.stopAll(); // by PID, even when the test failed
  });

  afterAll(async () => {
    script?.dispose();
    await fake?.close();
    await db?.drop();
  });

  it(`answers every register within NOTIFY_TIMEOUT_MS + ${MARGIN_MS} ms`, async () => {
    const { url, server } = await apis.start({
      ...loadEnv(),
      ...twilioEnv(fake),
      DATABASE_URL: db.url,
      NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS),
    });
    script.start({ status: 201, delayMs: FAKE_DELAY_MS });

    const register = async () => {
      const user = newPartnerUser();
      const phone = uniquePhone();
      return { ...(await api.register(url, user.token, phone.national)), e164: phone.e164 };
    };
    for (let i = 0; i < WARM_UP; i++) expect((await register()).status).toBe(200);
    const logFrom = server.stdout().length;
    const measured = [];
    for (let i = 0; i < MEASURED; i++) measured.push(await register());
    script.stop();

    // The server's own view of each register (its request log line), to tell its time from the
    // client's and the loopback's.
    // (The line is written as the answer leaves, so the last one may still be on its way.)
    const registerLines = () =>
      server
        .stdout()
        .slice(logFrom)
        .split('\n')
        .filter((line) => line.includes('"route":"/fe/users/auth/otp/register"'));
    await waitFor('the request log lines', () => registerLines().length >= MEASURED, {
      timeoutMs: 5_000,
    });
    const serverMs = registerLines().map((line) => (JSON.parse(line) as { ms: number }).ms);
    const clientMs = measured.map((a) => Math.round(a.ms));
    report('slow Twilio: register latency (ms)', {
      notifyTimeoutMs: TIMEOUT_MS,
      bound: TIMEOUT_MS + MARGIN_MS,
      client: summarize(clientMs),
      server: summarize(serverMs),
      clientAll: clientMs,
    });

    expect(measured.map((a) => a.status)).toEqual(measured.map(() => 200));
    // Each waited for its inline attempt to time out (nothing answered sooner) …
    expect(Math.min(...clientMs)).toBeGreaterThanOrEqual(TIMEOUT_MS);
    // … and no longer than the bound.
    expect(Math.max(...clientMs)).toBeLessThanOrEqual(TIMEOUT_MS + MARGIN_MS);

    // The inline attempt ended at its NOTIFY_TIMEOUT_MS deadline, left for the outbox to retry.
    // The reason reads "aborted" when the outbox's own timeout signal (same length, made a
    // moment earlier) fires before the driver's deadline, which it nearly always does.
    const firstOutcomes = await db.query<{ recipient: string; detail: string }>(
      `SELECT DISTINCT ON (o.recipient) o.recipient, a.detail
         FROM outbox_messages o
         JOIN audit_events a ON a.challenge_id::text = o.audit->>'challengeId'
        WHERE a.event IN ('sent', 'delivery_failed') AND o.recipient = ANY($1)
        ORDER BY o.recipient, a.id`,
      [measured.map((a) => a.e164)],
    );
    expect(firstOutcomes).toHaveLength(MEASURED);
    for (const outcome of firstOutcomes) {
      expect(outcome.detail).toMatch(
        new RegExp(`^will retry: Twilio request (timed out after ${TIMEOUT_MS} ms|aborted)$`),
      );
    }
  });
});
