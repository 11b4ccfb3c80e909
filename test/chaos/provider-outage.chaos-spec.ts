import { ChaosDatabase, createChaosDatabase } from '../support/chaos-database';
import { uniquePhone } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';
import { ScriptedResponse, startTwilioFake, TwilioFake } from '../support/twilio-fake';
import {
  Answer,
  api,
  ApiProcesses,
  FakeScript,
  loadEnv,
  report,
  sleep,
  summarize,
  tally,
  twilioEnv,
  waitFor,
} from './helpers';

/**
 * Twilio fails for 20 s (HTTP 500/502/429 answers and requests that get no answer within
 * NOTIFY_TIMEOUT_MS) under a stream of registers. Every register still answers 200 (transient
 * failures); the outbox retries with backoff (2 s doubling, ±20 %); once the fake recovers,
 * every message is accepted exactly once, and the fake saw exactly one request per attempt.
 */

const TIMEOUT_MS = 1000;
const OUTAGE_MS = 20_000;
const REGISTER_EVERY_MS = 400;
/** Registers stop this long before the outage ends, so each one meets at least one failure. */
const REGISTERS_UNTIL_MS = OUTAGE_MS - 4_000;
const BACKOFF_BASE_MS = 2_000;
/** Slack above the backoff: the failed attempt's own duration (≤ timeout), a poll (1 s), load. */
const RETRY_SLACK_MS = TIMEOUT_MS + 1_000 + 1_000;
/** Arrival stamps are taken every 5 ms; two of them bound a gap within ±10 ms. */
const STAMP_ERROR_MS = 10;

const FAILURES: ScriptedResponse[] = [
  { status: 500 },
  // Answered long after NOTIFY_TIMEOUT_MS, and with an error: a timeout at which Twilio did not
  // take the message (a timeout after Twilio took it is the at-least-once case of
  // process-kill.chaos-spec.ts).
  { status: 503, delayMs: 3_000 },
  TwilioFake.error(429, 20429, 'Too Many Requests'),
  { status: 502 },
];

interface OutboxRow {
  id: string;
  recipient: string;
  status: string;
  attempts: number;
  provider_message_id: string | null;
}

describe('Twilio outage: 20 s of 5xx, 429 and timeouts under a stream of registers', () => {
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

  it('answers every register 200, retries with backoff, then delivers every message exactly once', async () => {
    const { url } = await apis.start({
      ...loadEnv(),
      ...twilioEnv(fake),
      DATABASE_URL: db.url,
      NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS),
    });

    script.start(...FAILURES);
    const outageStart = Date.now();
    const registers: Array<Promise<Answer & { e164: string }>> = [];
    for (let at = 0; at <= REGISTERS_UNTIL_MS; at += REGISTER_EVERY_MS) {
      await sleep(outageStart + at - Date.now());
      const user = newPartnerUser();
      const phone = uniquePhone();
      registers.push(
        api.register(url, user.token, phone.national).then((a) => ({ ...a, e164: phone.e164 })),
      );
    }
    await sleep(outageStart + OUTAGE_MS - Date.now());
    script.stop();
    const recoveredAt = Date.now();
    const acceptedDuringOutage = fake.messages.length;
    const answers = await Promise.all(registers);

    // Transient failures never reach the caller.
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 200));
    expect(acceptedDuringOutage).toBe(0);

    const rows = await waitFor(
      'every message to be sent',
      async () => {
        const all = await db.query<OutboxRow>(
          `SELECT id, recipient, status, attempts, provider_message_id FROM outbox_messages`,
        );
        return all.length === answers.length && all.every((r) => r.status === 'sent')
          ? all
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const drainedAt = Date.now();
    // Nothing more goes out afterwards (several polls).
    const requestsWhenDrained = fake.requests.length;
    await sleep(3_000);
    expect(fake.requests.length).toBe(requestsWhenDrained);

    const violations: string[] = [];
    const gapsByAttempt: Record<number, number[]> = {};
    for (const row of rows) {
      const requests = fake.requests.filter((r) => r.form.To === row.recipient);
      const accepted = fake.messages.filter((m) => m.to === row.recipient);
      // Exactly once, and one request per attempt (none sent twice for one attempt).
      if (accepted.length !== 1) violations.push(`${row.id}: accepted ${accepted.length}×`);
      if (requests.length !== row.attempts) {
        violations.push(`${row.id}: ${requests.length} requests for ${row.attempts} attempts`);
      }
      if (row.attempts < 2) violations.push(`${row.id}: attempts ${row.attempts}, no retry`);
      if (accepted[0] && row.provider_message_id !== accepted[0].sid) {
        violations.push(`${row.id}: provider_message_id is not the accepted message's sid`);
      }
      // Backoff: attempt k+1 starts 2 s × 2^(k-1) ±20 % after attempt k failed.
      const arrivals = requests.map((r) => script.arrivedAt.get(r) ?? Number.NaN);
      for (let k = 1; k < arrivals.length; k++) {
        const backoff = BACKOFF_BASE_MS * 2 ** (k - 1);
        const gap = arrivals[k] - arrivals[k - 1];
        (gapsByAttempt[k + 1] ??= []).push(gap);
        if (!(gap >= 0.8 * backoff - STAMP_ERROR_MS && gap <= 1.2 * backoff + RETRY_SLACK_MS)) {
          violations.push(`${row.id}: attempt ${k + 1} came ${gap} ms after attempt ${k}`);
        }
      }
    }

    report('Twilio outage', {
      registers: answers.length,
      registerStatuses: tally(answers.map((a) => a.status)),
      registerLatencyMs: summarize(answers.map((a) => a.ms)),
      outageMs: OUTAGE_MS,
      providerRequests: fake.requests.length,
      providerAccepted: fake.messages.length,
      attemptsPerMessage: tally(rows.map((r) => r.attempts)),
      retryGapMsByAttempt: Object.fromEntries(
        Object.entries(gapsByAttempt).map(([k, gaps]) => [k, summarize(gaps)]),
      ),
      drainedAfterRecoveryMs: drainedAt - recoveredAt,
    });
    expect(violations).toEqual([]);
    expect(fake.messages).toHaveLength(rows.length);
    expect(fake.requests.length).toBe(rows.reduce((sum, r) => sum + r.attempts, 0));
  });
});
