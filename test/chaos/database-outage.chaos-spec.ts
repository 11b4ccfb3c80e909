import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChaosDatabase, createChaosDatabase } from '../support/chaos-database';
import { uniquePhone } from '../support/otp-client';
import { startTcpProxy, TcpProxy } from '../support/tcp-proxy';
import { newPartnerUser } from '../support/tokens';
import {
  Answer,
  api,
  ApiProcesses,
  loadEnv,
  NotifyFileTail,
  problemLines,
  report,
  RunningApi,
  sleep,
  summarize,
  tally,
  waitFor,
} from './helpers';

/**
 * PostgreSQL goes away under load, without touching the real server: the API reaches its
 * database through a TCP proxy, and the test breaks the proxy for a few seconds, then mends it.
 * Two faults: a cut (every connection destroyed, new ones refused: a crashed or restarting
 * server) and a partition (silence on every connection, no error: packets dropped between hosts).
 */

const CLIENTS = 6;
const WARM_MS = 6_000;
const AFTER_MS = 10_000;
/** After the proxy is mended, every request started this much later must succeed. */
const RECOVERY_BOUND_MS = 5_000;
/** A verify answered 503 is retried (the answer of a verify is idempotent) this long at most. */
const VERIFY_RETRY_MS = 45_000;
/** Clients give up on a request after this; a request without an answer by then hung. */
const CLIENT_TIMEOUT_MS = 30_000;

type Kind = 'register' | 'verify' | 'health';
type Exchange = Answer & { kind: Kind };

interface Journey {
  clientId: string;
  userId: string;
  phoneE164: string;
  authCode?: string;
  register: Answer;
  /** The verify that answered 200 (after retries of 503s), if the register succeeded. */
  linked?: Answer;
  messageMissing?: boolean;
}

interface Run {
  records: Exchange[];
  journeys: Journey[];
  /** When the fault began and when it was mended (Date.now()). */
  faultAt: number;
  mendedAt: number;
}

const UNAVAILABLE_BODY = {
  statusCode: 503,
  error: 'UNAVAILABLE',
  message: expect.any(String),
};

/**
 * Steady load from CLIENTS concurrent users plus a /health probe: warm-up, the fault for
 * `faultMs`, then AFTER_MS more. Each user registers, reads its code, verifies (a verify
 * answered 503 is retried with the same code until 200: its outcome is idempotent).
 */
async function underLoad(
  url: string,
  tail: NotifyFileTail,
  fault: { faultMs: number; begin: () => unknown; mend: () => unknown },
): Promise<Run> {
  const records: Exchange[] = [];
  const journeys: Journey[] = [];
  let stopping = false;

  const client = async () => {
    while (!stopping) {
      const user = newPartnerUser();
      const phone = uniquePhone();
      const register = await api.register(url, user.token, phone.national, CLIENT_TIMEOUT_MS);
      records.push({ ...register, kind: 'register' });
      const journey: Journey = {
        clientId: user.clientId,
        userId: user.userId,
        phoneE164: phone.e164,
        register,
      };
      journeys.push(journey);
      if (register.status !== 200) {
        await sleep(50); // a polite client backs off a little after a failure
        continue;
      }
      const authCode = String(register.body.authCode);
      journey.authCode = authCode;
      const message = tail.latestFor(authCode);
      if (!message) {
        journey.messageMissing = true;
        continue;
      }
      const deadline = Date.now() + VERIFY_RETRY_MS;
      while (Date.now() < deadline) {
        const verify = await api.verify(url, user.token, phone.national, authCode, message.code);
        records.push({ ...verify, kind: 'verify' });
        if (verify.status === 200) {
          journey.linked = verify;
          break;
        }
        if (verify.status !== 503) break; // anything else is wrong: asserted by the caller
        await sleep(100);
      }
    }
  };
  const healthProbe = async () => {
    while (!stopping) {
      records.push({ ...(await api.health(url, CLIENT_TIMEOUT_MS)), kind: 'health' });
      await sleep(100);
    }
  };

  const running = [...Array.from({ length: CLIENTS }, client), healthProbe()];
  await sleep(WARM_MS);
  const faultAt = Date.now();
  await fault.begin();
  await sleep(fault.faultMs);
  const mendedAt = Date.now();
  await fault.mend();
  await sleep(AFTER_MS);
  stopping = true;
  await Promise.all(running);
  return { records, journeys, faultAt, mendedAt };
}

/** The numbers of a run, reported and asserted on. */
function analyse(run: Run, proxy: TcpProxy) {
  const { records, journeys, faultAt, mendedAt } = run;
  const traffic = records.filter((r) => r.kind !== 'health');
  const health = records.filter((r) => r.kind === 'health');
  const during = (r: Answer) => r.startedAt >= faultAt && r.endedAt <= mendedAt;
  const before = (r: Answer) => r.endedAt < faultAt;
  const afterMend = (r: Answer) => r.startedAt >= mendedAt;
  const firstOk = traffic.filter((r) => afterMend(r) && r.status === 200)[0];
  const lastFailure = traffic.filter((r) => afterMend(r) && r.status !== 200).pop();
  const firstHealthOk = health.filter((r) => afterMend(r) && r.status === 200)[0];
  return {
    during,
    before,
    afterMend,
    traffic,
    health,
    numbers: {
      requests: records.length,
      statuses: tally(records.map((r) => r.status)),
      byKind: {
        register: tally(traffic.filter((r) => r.kind === 'register').map((r) => r.status)),
        verify: tally(traffic.filter((r) => r.kind === 'verify').map((r) => r.status)),
        health: tally(health.map((r) => r.status)),
      },
      beforeFault: tally(records.filter(before).map((r) => r.status)),
      duringFault: tally(records.filter(during).map((r) => r.status)),
      afterMend: tally(records.filter(afterMend).map((r) => r.status)),
      latencyMsDuringFault: summarize(records.filter(during).map((r) => r.ms)),
      latencyMsAll: summarize(records.map((r) => r.ms)),
      firstSuccessAfterMendMs: firstOk ? firstOk.endedAt - mendedAt : null,
      lastFailureAfterMendMs: lastFailure ? lastFailure.endedAt - mendedAt : 0,
      healthRecoveredAfterMs: firstHealthOk ? firstHealthOk.endedAt - mendedAt : null,
      usersStarted: journeys.length,
      usersLinked: journeys.filter((j) => j.linked).length,
      proxyConnectionsAccepted: proxy.accepted,
    },
  };
}

/** What holds after any database fault: the contract's answers only, recovery, whole journeys. */
function expectContractAnswers(
  run: Run,
  analysis: ReturnType<typeof analyse>,
  hangBoundMs: number,
  /** Requests refused while down: many when refusals are instant, fewer when each waits a timeout. */
  minRefusedWhileDown = 10,
) {
  const { records, journeys } = run;
  const { numbers, traffic, health, before, afterMend, during } = analysis;

  // Load was really held on both sides of the fault.
  expect(traffic.filter((r) => before(r) && r.status === 200).length).toBeGreaterThan(50);
  expect(traffic.filter((r) => afterMend(r) && r.status === 200).length).toBeGreaterThan(50);

  // Bounded: every request got an answer, and none took longer than the bound.
  const slow = records.filter((r) => r.status === 0 || r.ms > hangBoundMs);
  expect(slow.map((r) => ({ kind: r.kind, status: r.status, ms: Math.round(r.ms) }))).toEqual([]);
  // Only 200 or the contract's 503: no 500, no other error.
  const unexpected = records.filter((r) => r.status !== 200 && r.status !== 503);
  expect(
    unexpected.map((r) => ({ kind: r.kind, status: r.status, body: r.body, error: r.error })),
  ).toEqual([]);
  for (const r of records.filter((r) => r.status === 503)) expect(r.body).toEqual(UNAVAILABLE_BODY);

  // While the database is unreachable, every request (health included) is refused with 503.
  const whileDown = records.filter(during);
  expect(whileDown.filter((r) => r.kind !== 'health').length).toBeGreaterThanOrEqual(
    minRefusedWhileDown,
  );
  expect(whileDown.filter((r) => r.kind === 'health').length).toBeGreaterThan(2);
  expect(whileDown.filter((r) => r.status !== 503)).toEqual([]);
  expect(health.filter(during)[0].body).toEqual({
    statusCode: 503,
    error: 'UNAVAILABLE',
    message: 'database unavailable',
  });

  // Recovery: successes again within seconds of the mend, and from then on only successes.
  expect(numbers.firstSuccessAfterMendMs).not.toBeNull();
  expect(numbers.firstSuccessAfterMendMs).toBeLessThan(RECOVERY_BOUND_MS);
  expect(numbers.lastFailureAfterMendMs).toBeLessThan(RECOVERY_BOUND_MS);
  expect(numbers.healthRecoveredAfterMs).not.toBeNull();
  expect(numbers.healthRecoveredAfterMs).toBeLessThan(RECOVERY_BOUND_MS);
  expect(
    health.filter((r) => r.startedAt >= run.mendedAt + RECOVERY_BOUND_MS && r.status !== 200),
  ).toEqual([]);

  // Every register answered 200 had its message written before the answer, and every such
  // user ended linked (a verify answered 503 was retried until 200).
  const registered = journeys.filter((j) => j.register.status === 200);
  expect(registered.filter((j) => j.messageMissing)).toEqual([]);
  expect(registered.filter((j) => !j.linked).map((j) => j.userId)).toEqual([]);
}

describe('PostgreSQL outage under load (the API reaches PostgreSQL through a TCP proxy)', () => {
  const apis = new ApiProcesses();
  let db: ChaosDatabase | undefined;
  let proxy: TcpProxy | undefined;
  let dir: string | undefined;

  afterEach(async () => {
    await apis.stopAll(); // by PID, even when the test failed
    await proxy?.close();
    await db?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    proxy = db = dir = undefined;
  });

  /** A fresh database, a proxy in front of the real server, and the API through the proxy. */
  const setUp = async (): Promise<{
    api: RunningApi;
    db: ChaosDatabase;
    proxy: TcpProxy;
    tail: NotifyFileTail;
  }> => {
    db = await createChaosDatabase();
    proxy = await startTcpProxy('127.0.0.1', 5432);
    dir = mkdtempSync(join(tmpdir(), 'otp-link-chaos-db-'));
    const notifyFile = join(dir, 'messages.jsonl');
    const running = await apis.start({
      ...loadEnv(),
      DATABASE_URL: db.urlVia('127.0.0.1', proxy.port),
      NOTIFY_DRIVER: 'file',
      NOTIFY_FILE: notifyFile,
      // Lease of an inline attempt: 2 × 1 s + 5 s = 7 s, so messages left behind settle soon.
      NOTIFY_TIMEOUT_MS: '1000',
    });
    return { api: running, db, proxy, tail: new NotifyFileTail(notifyFile) };
  };

  it('cut (connections destroyed, new ones refused): 503 UNAVAILABLE at once, recovery within seconds, consistent data', async () => {
    const t = await setUp();
    const run = await underLoad(t.api.url, t.tail, {
      faultMs: 5_000,
      begin: () => t.proxy.cut(),
      mend: () => t.proxy.restore(),
    });
    const analysis = analyse(run, t.proxy);
    report('PostgreSQL cut', analysis.numbers);

    // Refused connections fail fast: nothing waits anywhere near a timeout.
    expectContractAnswers(run, analysis, 3_000);
    expect(t.api.server.stderr()).toBe('');
    expect(problemLines(t.api.server).filter((line) => line.includes('"level":"fatal"'))).toEqual(
      [],
    );
    await expectConsistent(t.db, run.journeys, t.tail);
  });

  // A partition gives no error, only silence: queries are bounded by query_timeout and the
  // silent connection is destroyed (PartitionSafeClient), so nothing waits for the partition.
  it('partition (silence, no error): every request answered 503 within a bound, then recovery', async () => {
    const t = await setUp();
    const run = await underLoad(t.api.url, t.tail, {
      faultMs: 12_000,
      begin: () => t.proxy.freeze(),
      mend: () => t.proxy.heal(),
    });
    const analysis = analyse(run, t.proxy);
    const hung = run.records.filter((r) => r.status === 0 || r.ms > 6_000);
    report('PostgreSQL partition', {
      ...analysis.numbers,
      requestsOver6s: hung.length,
      slowestMs: summarize(hung.map((r) => r.ms)),
      slowestByKind: tally(hung.map((r) => r.kind)),
    });

    // Each refusal waits out query_timeout (5.5 s) or the connect timeout (5 s): every
    // concurrent user is refused at least once in the 12 s partition.
    expectContractAnswers(run, analysis, 6_000, 6);
    await expectConsistent(t.db, run.journeys, t.tail);
  });
});

async function expectConsistent(
  db: ChaosDatabase,
  journeys: Journey[],
  tail: NotifyFileTail,
): Promise<void> {
  // Messages left pending by the outage are retried once their 7 s lease has passed.
  await waitFor(
    'the outbox to settle',
    async () => {
      const [row] = await db.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM outbox_messages WHERE status = 'pending'`,
      );
      return row.n === 0;
    },
    { timeoutMs: 30_000, intervalMs: 250 },
  );

  // Each journey used a fresh user and phone and registered once: exactly one send and one
  // outbox message per challenge.
  expect(
    await db.query(
      `SELECT c.id,
              (SELECT count(*)::int FROM otp_sends s WHERE s.challenge_id = c.id) AS sends,
              (SELECT count(*)::int FROM outbox_messages o
                WHERE o.audit->>'challengeId' = c.id::text) AS messages
         FROM otp_challenges c
        WHERE (SELECT count(*) FROM otp_sends s WHERE s.challenge_id = c.id) <> 1
           OR (SELECT count(*) FROM outbox_messages o WHERE o.audit->>'challengeId' = c.id::text) <> 1
           OR c.send_count <> 1`,
    ),
  ).toEqual([]);
  // No orphans the other way round.
  expect(
    await db.query(
      `SELECT s.id FROM otp_sends s LEFT JOIN otp_challenges c ON c.id = s.challenge_id
        WHERE c.id IS NULL`,
    ),
  ).toEqual([]);
  expect(
    await db.query(
      `SELECT o.id FROM outbox_messages o LEFT JOIN otp_challenges c
           ON c.id::text = o.audit->>'challengeId'
        WHERE c.id IS NULL`,
    ),
  ).toEqual([]);
  // Every link is backed by its challenge, verified, for the same user, phone and client.
  expect(
    await db.query(
      `SELECT l.id FROM links l
         LEFT JOIN otp_challenges c ON c.id = l.challenge_id
         LEFT JOIN third_party_users t ON t.id = l.third_party_user_id
         LEFT JOIN phone_users p ON p.id = l.phone_user_id
        WHERE c.id IS NULL OR t.id IS NULL OR p.id IS NULL
           OR c.status <> 'verified' OR c.verified_at IS NULL
           OR l.client_id <> c.client_id OR t.client_id <> c.client_id OR t.user_id <> c.user_id
           OR p.phone_e164 <> c.target`,
    ),
  ).toEqual([]);
  // No half-made link: a verified challenge always has its link, and the identities made by a
  // verify exist only with the link made in the same transaction.
  expect(
    await db.query(
      `SELECT c.id FROM otp_challenges c LEFT JOIN links l ON l.challenge_id = c.id
        WHERE (c.status = 'verified' OR c.verified_at IS NOT NULL) AND l.id IS NULL`,
    ),
  ).toEqual([]);
  expect(
    await db.query(`SELECT id FROM phone_users WHERE id NOT IN (SELECT phone_user_id FROM links)`),
  ).toEqual([]);
  expect(
    await db.query(
      `SELECT id FROM third_party_users WHERE id NOT IN (SELECT third_party_user_id FROM links)`,
    ),
  ).toEqual([]);

  // The clients' view agrees with the database.
  const challenges = await db.query<{
    client_id: string;
    user_id: string;
    target: string;
    auth_code: string;
    status: string;
    phone_user_id: string | null;
  }>(`SELECT c.client_id, c.user_id, c.target, c.auth_code, c.status, l.phone_user_id
        FROM otp_challenges c LEFT JOIN links l ON l.challenge_id = c.id`);
  const byUser = new Map(challenges.map((c) => [`${c.client_id}/${c.user_id}`, c]));
  for (const journey of journeys) {
    const row = byUser.get(`${journey.clientId}/${journey.userId}`);
    if (journey.register.status === 200) {
      expect(row).toMatchObject({ auth_code: journey.authCode, target: journey.phoneE164 });
      expect(row?.status).toBe('verified');
      expect(row?.phone_user_id).toBe(journey.linked?.body.userId);
    }
  }
  // Registers refused with 503 may or may not have committed (the commit can be lost with the
  // connection); those that did are whole challenges like the others (checked above).
  const refused = journeys.filter((j) => j.register.status !== 200);
  const committedAnyway = refused.filter((j) => byUser.has(`${j.clientId}/${j.userId}`));

  // Every message was delivered: sent, and in NOTIFY_FILE at least once. Delivery is at least
  // once (docs/architecture.md): a message whose send was not recorded because the database went
  // away is sent again after its lease. That can only be one whose register was not answered 200.
  const outbox = await db.query<{ status: string; recipient: string; auth_code: string }>(
    `SELECT o.status, o.recipient, c.auth_code FROM outbox_messages o
       JOIN otp_challenges c ON c.id::text = o.audit->>'challengeId'`,
  );
  expect(tally(outbox.map((o) => o.status))).toEqual({ sent: outbox.length });
  tail.poll();
  const deliveries = tally(tail.messages.map((m) => m.authCode));
  const okAuthCodes = new Set(journeys.filter((j) => j.authCode).map((j) => j.authCode));
  const undelivered = outbox.filter((o) => !deliveries[o.auth_code]);
  const duplicated = outbox.filter((o) => deliveries[o.auth_code] > 1);
  report('consistency after the outage', {
    challenges: challenges.length,
    linked: challenges.filter((c) => c.status === 'verified').length,
    registersRefused: refused.length,
    refusedButCommitted: committedAnyway.length,
    outboxMessages: outbox.length,
    deliveredTwice: duplicated.length,
  });
  expect(undelivered).toEqual([]);
  expect(duplicated.filter((o) => okAuthCodes.has(o.auth_code))).toEqual([]);
  expect(duplicated.filter((o) => deliveries[o.auth_code] > 2)).toEqual([]);
}
