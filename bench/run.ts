import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { readBenchConfig, type BenchConfig } from './lib/config';
import {
  analyze,
  connectionsTo,
  createDatabase,
  createScratchTable,
  databaseUrl,
  dropDatabase,
  historyCounts,
  newDatabaseName,
  outboxStatuses,
  seedChallenges,
  seedHistory,
  seedLinks,
  tableCounts,
  vacuum,
} from './lib/database';
import { IdentityFactory, type BenchUser } from './lib/identities';
import { Pool, runLoad, type Expectation, type ResponseCheck, type RunStats } from './lib/load';
import { NotifyTail } from './lib/notify-tail';
import { freePort, killAllNow, runCommand, startServer, type ServerHandle } from './lib/processes';
import {
  failuresOf,
  renderGrowth,
  renderTables,
  summarizeLog,
  writeResults,
  type GrowthResult,
  type RssSample,
  type ScenarioResult,
  type ServerLogSummary,
} from './lib/report';
import {
  baselineRequests,
  FlowSteps,
  flowRequests,
  linkedRequests,
  registerRequests,
  verifyRequests,
  wrongCodeRequests,
  type KnownChallenge,
} from './lib/scenarios';
import { rssMb } from './lib/system';
import type autocannon from 'autocannon';

const ROOT = resolve(__dirname, '..');
const NODE = process.execPath;

/**
 * The node options production runs the API with (package.json's start:prod, the Dockerfile's
 * CMD): the bench measures the same process, heap limit included.
 */
const API_NODE_OPTIONS = productionNodeOptions();

function productionNodeOptions(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const words = pkg.scripts['start:prod'].split(/\s+/);
  return words.slice(1).filter((word) => word.startsWith('--'));
}

/** With BENCH_CPU_PROFILE, the API writes a V8 CPU profile there when it stops. */
function profileArgs(config: BenchConfig): string[] {
  return config.cpuProfileDir ? ['--cpu-prof', `--cpu-prof-dir=${config.cpuProfileDir}`] : [];
}
const OTP_LENGTH = 6;
/** Wrong-code load is spread over this many challenges, far below OTP_MAX_ATTEMPTS each. */
const WRONG_CODE_CHALLENGES = 10_000;
const LINKED_USERS = 5_000;
/** Challenges for the embedded verify: its warm-up rate times this, for its measured runs. */
const EMBEDDED_VERIFY_MARGIN = 1.6;
const TOP_UP_MAX_SECONDS = 120;
const BUILD_TIMEOUT_MS = 180_000;
const MIGRATE_TIMEOUT_MS = 60_000;
const START_TIMEOUT_MS = 60_000;
/** The growth group's small table size (rows of otp_challenges and of otp_sends). */
const GROWTH_SMALL_ROWS = 10_000;
/** Verify challenges are rows too: the growth group sizes their pools for this rate at most. */
const GROWTH_VERIFY_RATE = 2_000;
const GROWTH_RSS_LIMIT_MB = 300;

const NOTES = [
  'The API runs with NODE_ENV=bench, not production: production refuses the file notify driver ' +
    'the bench reads codes from. The app reads NODE_ENV only to tell production apart.',
  'Every limit is raised so none triggers; OTP_MAX_ATTEMPTS is at its allowed maximum (100), so ' +
    `wrong-code load is spread over ${WRONG_CODE_CHALLENGES} challenges.`,
  'Load driver, API and PostgreSQL share this machine: see the CPU table for which one was saturated.',
];

type Phase = 'warmup' | 'loaded' | 'unloaded';

interface ScenarioDef {
  name: string;
  group: ScenarioResult['group'];
  description: string;
  expected: string;
  expectation: Expectation;
  url: string;
  serverPid?: number;
  pools: Array<Pool<unknown>>;
  /**
   * Runs between the warm-up and the measured run: the PostgreSQL scenarios refresh the
   * planner's statistics, the embedded verify tops its pool up.
   */
  afterWarmup?: (warmup: RunStats | undefined) => Promise<void>;
  /** Requests for one phase; `after` returns figures of that phase (the flow's steps). */
  phase: (
    phase: Phase,
    check: ResponseCheck,
  ) => { requests: autocannon.Request[]; after?: (run: RunStats) => Record<string, unknown> };
}

/** Cleanups run once, newest first, on success, failure, ^C or the watchdog. */
const cleanups: Array<{ name: string; run: () => Promise<void> }> = [];
let cleanedUp: Promise<void> | undefined;
/** Reports what was measured before an abort (^C, the watchdog). */
let reportSoFar: ((reason: string) => Promise<number>) | undefined;

function runCleanups(): Promise<void> {
  cleanedUp ??= (async () => {
    killAllNow();
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup.run();
      } catch (error) {
        log(`cleanup ${cleanup.name} failed: ${String(error)}`);
      }
    }
  })();
  return cleanedUp;
}

/** Stops everything and exits, within a few seconds whatever the cleanups do. */
function abort(reason: string, code: number): void {
  log(reason);
  killAllNow();
  setTimeout(() => process.exit(code), 10_000).unref();
  void (async () => {
    try {
      await reportSoFar?.(reason);
    } catch (error) {
      log(`could not write the results so far: ${String(error)}`);
    }
    await runCleanups();
  })().finally(() => process.exit(code));
}

function log(message: string): void {
  process.stderr.write(`[bench] ${message}\n`);
}

function secrets() {
  // Strong and fresh per run: the server verifies tokens and hashes codes with them, and the
  // bench signs tokens and seeds code hashes with the same values.
  return {
    partnerJwtSecret: randomBytes(32).toString('base64url'),
    otpSecret: randomBytes(32).toString('base64url'),
  };
}

function apiEnv(
  config: BenchConfig,
  keys: ReturnType<typeof secrets>,
  port: number,
  notifyFile: string,
  database: { url: string } | { dataDir: string },
): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    NODE_ENV: 'bench',
    PORT: String(port),
    LOG_LEVEL: 'warn',
    NOTIFY_DRIVER: 'file',
    NOTIFY_FILE: notifyFile,
    PARTNER_JWT_SECRET: keys.partnerJwtSecret,
    OTP_SECRET: keys.otpSecret,
    OTP_LENGTH: String(OTP_LENGTH),
    HTTP_RATE_LIMIT_PER_MINUTE: '1000000000',
    OTP_MAX_SENDS_PER_PHONE_PER_HOUR: '1000000',
    OTP_MAX_SENDS_PER_USER_PER_HOUR: '1000000',
    OTP_MAX_SENDS_PER_HOUR: '1000000000',
    OTP_MAX_SENDS_PER_PREFIX_PER_HOUR: '1000000000',
    OTP_MAX_SENDS_PER_CLIENT_PER_HOUR: '1000000000',
    // Still checked on every send, never tripped by codes left unverified.
    PUMPING_MIN_SENDS: '1000000000',
    OTP_MAX_FAILED_VERIFIES_PER_PHONE_PER_HOUR: '1000000',
    OTP_MAX_ATTEMPTS: '100',
    OTP_RESEND_COOLDOWN_SECONDS: '0',
    // Codes issued early in a long run must still be live when they are verified.
    OTP_TTL_SECONDS: '86400',
    ...('url' in database ? { DATABASE_URL: database.url } : { DATA_DIR: database.dataDir }),
    ...(config.redisUrl ? { REDIS_URL: config.redisUrl } : {}),
    ...(config.databasePoolSize ? { DATABASE_POOL_SIZE: String(config.databasePoolSize) } : {}),
  };
}

/** The env recorded in the results, secrets left out. */
function redacted(env: NodeJS.ProcessEnv): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (name === 'PATH' || value === undefined) continue;
    shown[name] = /SECRET|TOKEN/.test(name) ? '<random, 43 chars>' : value;
  }
  return shown;
}

/** Items one run of this config may consume at most (warm-up, loaded, unloaded). */
function oneShotPoolSize(config: BenchConfig): number {
  const seconds = config.warmupSeconds + config.durationSeconds + config.unloadedSeconds;
  return Math.ceil(config.poolRate * seconds) + 4 * config.connections;
}

/** Warm-up, the measured run at `connections`, then the 1-connection run. */
async function runScenario(config: BenchConfig, def: ScenarioDef): Promise<ScenarioResult> {
  const result: ScenarioResult = {
    name: def.name,
    group: def.group,
    description: def.description,
    expected: def.expected,
    failures: [],
  };
  const extra: Record<string, unknown> = {};
  const figures: Partial<Record<Phase, Record<string, unknown>>> = {};
  const phases: Array<[Phase, number, number]> = [
    ['warmup', config.connections, config.warmupSeconds],
    ['loaded', config.connections, config.durationSeconds],
    ['unloaded', 1, config.unloadedSeconds],
  ];
  try {
    for (const [phase, connections, seconds] of phases) {
      if (phase === 'loaded' && def.afterWarmup) await def.afterWarmup(result.warmup);
      if (seconds <= 0) continue;
      log(`${def.name}: ${phase} ${connections} conn x ${seconds}s`);
      let plan: ReturnType<ScenarioDef['phase']> | undefined;
      const run = await runLoad({
        url: def.url,
        connections,
        seconds,
        timeoutSeconds: config.requestTimeoutSeconds,
        pools: def.pools,
        expectation: def.expectation,
        serverPid: def.serverPid,
        requests: (check) => {
          plan = def.phase(phase, check);
          return plan.requests;
        },
      });
      result[phase] = run;
      if (plan?.after) figures[phase] = plan.after(run);
      log(
        `${def.name}: ${phase} ${run.rps} req/s p50 ${run.latency.p50} ms p99 ${run.latency.p99} ms` +
          ` statuses ${JSON.stringify(run.statusCounts)} errors ${run.errors}`,
      );
    }
  } catch (error) {
    result.failures.push(`run failed: ${String(error)}`);
  }
  if (Object.keys(figures).length > 0) extra.figures = figures;
  extra.pools = Object.fromEntries(
    def.pools.map((pool) => [pool.name, { size: pool.size, used: pool.used }]),
  );
  result.extra = extra;
  result.failures.push(...failuresOf(result));
  return result;
}

interface RunContext {
  config: BenchConfig;
  tmp: string;
  databaseName: string;
  databaseUrl: string;
  keys: ReturnType<typeof secrets>;
  identities: IdentityFactory;
  results: ScenarioResult[];
  logs: ServerLogSummary[];
  serverEnv: Record<string, Record<string, string>>;
  databaseRows?: Record<string, number>;
  outbox?: Record<string, number>;
  growth?: GrowthResult;
  /** 1, 5 and 15 minute load averages when the run started: other work on the machine. */
  loadAtStart: number[];
}

async function stopServer(ctx: RunContext, server: ServerHandle): Promise<void> {
  const stop = await server.stop();
  ctx.logs.push(summarizeLog(server.name, server.logFile, stop));
  log(`${server.name} ${stop}`);
}

/**
 * The compiled API as `api-<label>` on a free port, on `database`, with the bench's settings;
 * its NOTIFY_FILE is `notify-<label>.jsonl` in the run's temp directory. With `profile`, it
 * writes a CPU profile when BENCH_CPU_PROFILE asks for one.
 */
async function startApi(
  ctx: RunContext,
  label: string,
  database: { url: string } | { dataDir: string },
  profile: boolean,
): Promise<{ server: ServerHandle; url: string; notifyFile: string }> {
  const port = await freePort();
  const notifyFile = join(ctx.tmp, `notify-${label}.jsonl`);
  const env = apiEnv(ctx.config, ctx.keys, port, notifyFile, database);
  ctx.serverEnv[`api-${label}`] = redacted(env);
  const server = await startServer(
    `api-${label}`,
    NODE,
    [
      ...API_NODE_OPTIONS,
      ...(profile ? profileArgs(ctx.config) : []),
      join(ROOT, 'dist/apps/api/src/main.js'),
    ],
    {
      cwd: ctx.tmp, // not the repo: a developer's .env there must not change the settings
      env,
      timeoutMs: START_TIMEOUT_MS,
      logFile: join(ctx.tmp, `api-${label}.log`),
      readyUrl: `http://127.0.0.1:${port}/health`,
    },
  );
  return { server, url: `http://127.0.0.1:${port}`, notifyFile };
}

async function runBaselines(ctx: RunContext): Promise<void> {
  const { config } = ctx;
  await createScratchTable(ctx.databaseUrl);
  const token = ctx.identities.makeUsers(1, 'baseline')[0].token;
  const servers = [
    {
      name: 'baseline:http-json',
      script: 'bench/baselines/http-json.ts',
      description: 'bare node:http answering a small JSON: the framework ceiling',
      env: {},
    },
    {
      name: 'baseline:pg-insert',
      script: 'bench/baselines/http-pg.ts',
      description: 'bare node:http + pg, one INSERT … RETURNING per request: the database floor',
      env: {
        DATABASE_URL: ctx.databaseUrl,
        DATABASE_POOL_SIZE: String(config.databasePoolSize ?? 10),
      },
    },
  ];
  for (const baseline of servers) {
    const port = await freePort();
    const server = await startServer(
      baseline.name,
      NODE,
      ['-r', 'ts-node/register/transpile-only', baseline.script],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH ?? '', PORT: String(port), ...baseline.env },
        timeoutMs: START_TIMEOUT_MS,
        logFile: join(ctx.tmp, `${baseline.name.replace(':', '-')}.log`),
        readyUrl: `http://127.0.0.1:${port}/`,
      },
    );
    try {
      ctx.results.push(
        await runScenario(config, {
          name: baseline.name,
          group: 'baseline',
          description: baseline.description,
          expected: '200',
          expectation: { statuses: [200] },
          url: `http://127.0.0.1:${port}`,
          serverPid: server.pid,
          pools: [],
          phase: (_phase, check) => ({ requests: baselineRequests(token, check) }),
        }),
      );
    } finally {
      await stopServer(ctx, server);
    }
  }
}

async function runPostgres(ctx: RunContext): Promise<void> {
  const { config, identities } = ctx;
  const oneShot = oneShotPoolSize(config);

  log(
    `seeding ${oneShot} challenges to verify, ${WRONG_CODE_CHALLENGES} for wrong codes, ${LINKED_USERS} links`,
  );
  const seedStarted = performance.now();
  const verifyChallenges = await seedChallenges(
    ctx.databaseUrl,
    ctx.keys.otpSecret,
    OTP_LENGTH,
    identities.makeUsers(oneShot, 'verify'),
  );
  const wrongChallenges = await seedChallenges(
    ctx.databaseUrl,
    ctx.keys.otpSecret,
    OTP_LENGTH,
    identities.makeUsers(WRONG_CODE_CHALLENGES, 'wrong'),
  );
  const linkedUsers = identities.makeUsers(LINKED_USERS, 'linked');
  await seedLinks(ctx.databaseUrl, linkedUsers);
  await analyze(ctx.databaseUrl);
  const registerUsers = new Pool('register users', identities.makeUsers(oneShot, 'register'));
  const flowUsers = new Pool('flow users', identities.makeUsers(oneShot, 'flow'));
  log(`seeded and signed in ${Math.round(performance.now() - seedStarted)} ms`);

  const { server, url, notifyFile } = await startApi(
    ctx,
    'postgres',
    { url: ctx.databaseUrl },
    true,
  );
  // Each scenario starts right after a VACUUM (ANALYZE), when a table it fills may be empty;
  // plans the API's sessions make then (a sequential scan of an "empty" table) would stay for the
  // whole run, because a 10 s run ends before autovacuum (a minute apart) would analyze the table
  // and invalidate them. ANALYZE after the warm-up gives the measured run the statistics a live
  // database has.
  const common = {
    group: 'postgres' as const,
    url,
    serverPid: server.pid,
    afterWarmup: () => analyze(ctx.databaseUrl),
  };
  const ok = (bodyIncludes?: string): Expectation => ({ statuses: [200], bodyIncludes });
  const tail = new NotifyTail(notifyFile);

  const verifyPool = new Pool<KnownChallenge>('verify challenges', verifyChallenges);
  // Round-robin: each challenge takes a few wrong codes, far from locking; reads repeat freely.
  const wrongPool = new Pool('wrong-code challenges', wrongChallenges, 'cycle');
  const linkedPool = new Pool<BenchUser>('linked users', linkedUsers, 'cycle');
  const scenarios: ScenarioDef[] = [
    {
      ...common,
      name: 'pg:register',
      description:
        'register, a new partner user and a new phone per request (challenge + outbox + SMS file)',
      expected: '200',
      expectation: ok('"authCode"'),
      pools: [registerUsers],
      phase: (_phase, check) => ({ requests: registerRequests(registerUsers, check) }),
    },
    {
      ...common,
      name: 'pg:verify',
      description:
        'verify with the right code, a different seeded challenge per request (links the user)',
      expected: '200',
      expectation: ok('Users linked successfully'),
      pools: [verifyPool],
      phase: (_phase, check) => ({ requests: verifyRequests(verifyPool, check) }),
    },
    {
      ...common,
      name: 'pg:verify-wrong-code',
      description: 'verify with a wrong code: attempt counting, answers 400 INVALID_OTP (expected)',
      expected: '400 INVALID_OTP',
      expectation: { statuses: [400], bodyIncludes: '"INVALID_OTP"' },
      pools: [wrongPool],
      phase: (_phase, check) => ({ requests: wrongCodeRequests(wrongPool, check) }),
    },
    {
      ...common,
      name: 'pg:linked-mobile-number',
      description: 'GET the caller’s own link, users linked beforehand (read path)',
      expected: '200',
      expectation: ok('"LinkedPhone"'),
      pools: [linkedPool],
      phase: (_phase, check) => ({ requests: linkedRequests(linkedPool, check) }),
    },
    {
      ...common,
      name: 'pg:flow',
      description:
        'per virtual user: register, read the code from NOTIFY_FILE, verify (2 requests)',
      expected: '200',
      expectation: ok(),
      pools: [flowUsers],
      phase: (_phase, check) => {
        const steps = new FlowSteps();
        tail.skipToEnd();
        return {
          requests: flowRequests(flowUsers, tail, steps, check),
          after: (run) => steps.summary(run.seconds),
        };
      },
    },
  ];

  try {
    for (const def of scenarios) {
      if (config.scenarios.length > 0 && !config.scenarios.some((p) => def.name.startsWith(p))) {
        continue;
      }
      await vacuum(ctx.databaseUrl);
      const result = await runScenario(config, def);
      result.extra = {
        ...result.extra,
        connectionsAfter: await connectionsTo(config.pgAdminUrl, ctx.databaseName),
      };
      if (!server.alive()) result.failures.push('the API process died during this scenario');
      ctx.results.push(result);
      if (!server.alive()) break;
    }
  } finally {
    await stopServer(ctx, server);
  }
  // After the graceful stop, so requests still in flight at the end have finished.
  ctx.databaseRows = await tableCounts(ctx.databaseUrl);
  ctx.outbox = await outboxStatuses(ctx.databaseUrl);
  if (Object.keys(ctx.outbox).some((status) => status !== 'sent')) {
    const last = ctx.results.at(-1);
    last?.failures.push(`outbox messages not sent: ${JSON.stringify(ctx.outbox)}`);
  }
}

/** The cold-start group's runs: no warm-up, no ANALYZE, back to back. */
const COLD_SECONDS = 10;

/**
 * A fresh install under load from its first second: its own database, migrated and nothing
 * else (no ANALYZE, no VACUUM), and a new API process; register, then verify of challenges seeded
 * without statistics, each measured in its first COLD_SECONDS and the COLD_SECONDS after. The
 * first run against the second, and against the warm `pg:` scenarios of the same run, shows
 * what plans made on empty tables (and a cold JIT) cost.
 */
async function runCold(ctx: RunContext): Promise<void> {
  const { config, identities } = ctx;
  const name = newDatabaseName();
  const url = databaseUrl(config.pgAdminUrl, name);
  await createDatabase(config.pgAdminUrl, name);
  cleanups.push({
    name: 'drop cold database',
    run: async () => (config.keep ? undefined : dropDatabase(config.pgAdminUrl, name)),
  });
  await runCommand('migrate cold', NODE, [join(ROOT, 'dist/apps/api/src/migrate.js')], {
    cwd: ctx.tmp,
    env: { PATH: process.env.PATH ?? '', NODE_ENV: 'bench', DATABASE_URL: url },
    timeoutMs: MIGRATE_TIMEOUT_MS,
  });
  const cold = { ...config, warmupSeconds: 0, durationSeconds: COLD_SECONDS, unloadedSeconds: 0 };
  const size = Math.ceil(config.poolRate * COLD_SECONDS * 2) + 4 * config.connections;
  const registerUsers = new Pool('cold register users', identities.makeUsers(size, 'cold'));
  const verifyPool = new Pool<KnownChallenge>(
    'cold verify challenges',
    await seedChallenges(url, ctx.keys.otpSecret, OTP_LENGTH, identities.makeUsers(size, 'cv')),
  );
  const { server, url: apiUrl } = await startApi(ctx, 'cold', { url }, false);
  const common = { group: 'cold' as const, url: apiUrl, serverPid: server.pid };
  const runs: ScenarioDef[] = [];
  for (const part of ['first', 'next']) {
    runs.push({
      ...common,
      name: `cold:register-${part}-${COLD_SECONDS}s`,
      description: `register on a freshly migrated database, the ${part} ${COLD_SECONDS} s`,
      expected: '200',
      expectation: { statuses: [200], bodyIncludes: '"authCode"' },
      pools: [registerUsers],
      phase: (_phase, check) => ({ requests: registerRequests(registerUsers, check) }),
    });
  }
  for (const part of ['first', 'next']) {
    runs.push({
      ...common,
      name: `cold:verify-${part}-${COLD_SECONDS}s`,
      description: `verify, challenges seeded with no ANALYZE after, the ${part} ${COLD_SECONDS} s`,
      expected: '200',
      expectation: { statuses: [200], bodyIncludes: 'Users linked successfully' },
      pools: [verifyPool],
      phase: (_phase, check) => ({ requests: verifyRequests(verifyPool, check) }),
    });
  }
  try {
    for (const def of runs) {
      const result = await runScenario(cold, def);
      if (!server.alive()) result.failures.push('the API process died during this scenario');
      ctx.results.push(result);
      if (!server.alive()) break;
    }
  } finally {
    await stopServer(ctx, server);
  }
}

async function runEmbedded(ctx: RunContext): Promise<void> {
  const { config, identities } = ctx;
  const registerUsers = new Pool(
    'embedded register users',
    identities.makeUsers(oneShotPoolSize(config), 'emb'),
  );
  const { server, url, notifyFile } = await startApi(
    ctx,
    'embedded',
    { dataDir: join(ctx.tmp, 'embedded-data') },
    true,
  );
  const common = { group: 'embedded' as const, url, serverPid: server.pid };
  // The embedded database lives inside the server: its challenges come from registers through
  // the API, their codes from NOTIFY_FILE.
  const issued: Array<{ user: BenchUser; authCode: string }> = [];
  try {
    const register = await runScenario(config, {
      ...common,
      name: 'embedded:register',
      description: 'register on the embedded database (PGlite in the server process)',
      expected: '200',
      expectation: { statuses: [200], bodyIncludes: '"authCode"' },
      pools: [registerUsers],
      phase: (_phase, check) => ({
        requests: registerRequests(registerUsers, check, (user, authCode) =>
          issued.push({ user, authCode }),
        ),
      }),
    });
    ctx.results.push(register);
    if (!server.alive()) {
      register.failures.push('the API process died during this scenario');
      return;
    }

    // Codes of the registers so far, once each (a user seen twice would verify idempotently).
    const tail = new NotifyTail(notifyFile);
    const seen = new Set<string>();
    let missing = 0;
    const collect = (): KnownChallenge[] => {
      const found: KnownChallenge[] = [];
      for (const { user, authCode } of issued.splice(0)) {
        if (seen.has(user.userId)) continue;
        seen.add(user.userId);
        const code = tail.take(user.e164, authCode);
        if (code) found.push({ user, authCode, code });
        else missing++;
      }
      return found;
    };
    const challenges = collect();
    log(`embedded: ${challenges.length} challenges from the register run to verify`);
    if (challenges.length === 0) throw new Error('embedded: no challenge to verify');
    const verifyPool = new Pool('embedded verify challenges', challenges);
    const topUp: Record<string, unknown> = {};
    const verify = await runScenario(config, {
      ...common,
      name: 'embedded:verify',
      description:
        'verify with the right code on the embedded database, challenges issued by registers through the API',
      expected: '200',
      expectation: { statuses: [200], bodyIncludes: 'Users linked successfully' },
      pools: [verifyPool],
      phase: (_phase, check) => ({ requests: verifyRequests(verifyPool, check) }),
      // Verify outruns register here, so the register run leaves too few challenges: issue the
      // rest now, as many as the warm-up's rate says the measured runs need.
      afterWarmup: async (warmup) => {
        const registerRps = register.loaded?.rps || 50;
        const verifyRps = warmup?.rps || 4 * registerRps;
        const seconds = config.durationSeconds + config.unloadedSeconds;
        const wanted = Math.ceil(verifyRps * seconds * EMBEDDED_VERIFY_MARGIN) + config.connections;
        const more = wanted - verifyPool.remaining;
        if (more <= 0) return;
        const limit = Math.min(TOP_UP_MAX_SECONDS, Math.ceil((more / registerRps) * 1.5) + 5);
        log(`embedded: issuing ${more} more challenges through register (at most ${limit}s)`);
        const before = issued.length;
        // Spare users: the run only stops at autocannon's next tick after it has enough.
        const users = new Pool(
          'embedded top-up users',
          identities.makeUsers(more + Math.ceil(registerRps * 2) + config.connections, 'emb-top'),
        );
        let stop: () => void = () => undefined;
        const run = await runLoad({
          url,
          connections: config.connections,
          seconds: limit,
          timeoutSeconds: config.requestTimeoutSeconds,
          pools: [users],
          expectation: { statuses: [200] },
          onStart: (stopRun) => (stop = stopRun),
          requests: (check) =>
            registerRequests(users, check, (user, authCode) => {
              issued.push({ user, authCode });
              if (issued.length - before >= more) stop();
            }),
        });
        const added = collect();
        verifyPool.add(added);
        Object.assign(topUp, {
          wanted,
          added: added.length,
          seconds: run.seconds,
          registerRps: run.rps,
          statusCounts: run.statusCounts,
          errors: run.errors,
        });
        if (run.unexpected > 0 || run.errors > 0) {
          throw new Error(
            `top-up registers failed: ${JSON.stringify(run.statusCounts)}, ${run.errors} errors`,
          );
        }
      },
    });
    verify.extra = { ...verify.extra, topUp };
    if (missing > 0) verify.failures.push(`${missing} issued codes missing from NOTIFY_FILE`);
    if (!server.alive()) verify.failures.push('the API process died during this scenario');
    ctx.results.push(verify);
  } finally {
    await stopServer(ctx, server);
  }
}

/**
 * The opt-in growth group: register and verify latency with 10 000 and then `growth.rows` rows
 * in otp_challenges and otp_sends, then the API's RSS over `growth.registrations` registrations.
 */
async function runGrowth(ctx: RunContext): Promise<void> {
  const { config, identities } = ctx;
  const settings = config.growth;
  const growth: GrowthResult = {
    settings: { ...settings, smallRows: GROWTH_SMALL_ROWS, rssLimitMb: GROWTH_RSS_LIMIT_MB },
    runs: [],
    failures: [],
  };
  ctx.growth = growth;
  const runConfig: BenchConfig = {
    ...config,
    connections: settings.connections,
    durationSeconds: settings.durationSeconds,
  };
  const verifyPoolSize = oneShotPoolSize({
    ...runConfig,
    poolRate: Math.min(config.poolRate, GROWTH_VERIFY_RATE),
  });

  const { server, url } = await startApi(ctx, 'growth', { url: ctx.databaseUrl }, false);
  const common = { group: 'growth' as const, url, serverPid: server.pid, expected: '200' };
  let seeded = 0;
  try {
    for (const target of [GROWTH_SMALL_ROWS, settings.rows]) {
      const verifyPool = new Pool<KnownChallenge>(
        `growth verify challenges (${target})`,
        await seedChallenges(
          ctx.databaseUrl,
          ctx.keys.otpSecret,
          OTP_LENGTH,
          identities.makeUsers(verifyPoolSize, `growth-verify-${target}`),
        ),
      );
      const registerUsers = new Pool(
        `growth register users (${target})`,
        identities.makeUsers(oneShotPoolSize(runConfig), `growth-register-${target}`),
      );
      const before = await historyCounts(ctx.databaseUrl);
      const more = {
        challenges: target - before.challenges,
        sends: target - before.sends,
      };
      log(`growth: seeding ${JSON.stringify(more)} history rows (generate_series), then ANALYZE`);
      const started = performance.now();
      await seedHistory(ctx.databaseUrl, seeded, more);
      seeded += Math.max(more.challenges, more.sends, 0);
      await analyze(ctx.databaseUrl);
      log(`growth: seeded in ${Math.round(performance.now() - started)} ms`);

      const defs: Array<[GrowthResult['runs'][number]['path'], ScenarioDef]> = [
        [
          'register',
          {
            ...common,
            name: `growth:register@${target}`,
            description: `register with about ${target} rows in otp_challenges and otp_sends`,
            expectation: { statuses: [200], bodyIncludes: '"authCode"' },
            pools: [registerUsers],
            phase: (_phase, check) => ({ requests: registerRequests(registerUsers, check) }),
          },
        ],
        [
          'verify',
          {
            ...common,
            name: `growth:verify@${target}`,
            description: `verify with about ${target} rows in otp_challenges and otp_sends`,
            expectation: { statuses: [200], bodyIncludes: 'Users linked successfully' },
            pools: [verifyPool],
            phase: (_phase, check) => ({ requests: verifyRequests(verifyPool, check) }),
          },
        ],
      ];
      for (const [path, def] of defs) {
        const rows = await historyCounts(ctx.databaseUrl);
        const result = await runScenario(runConfig, def);
        if (!server.alive()) result.failures.push('the API process died during this scenario');
        growth.runs.push({ path, rows, result });
        growth.failures.push(...result.failures.map((failure) => `${def.name}: ${failure}`));
        if (!server.alive()) return;
      }
    }
    if (settings.registrations > 0) await runGrowthMemory(ctx, growth, server, url);
  } finally {
    await stopServer(ctx, server);
  }
}

/** `registrations` registers at `growth.connections`, the API's RSS sampled as they go. */
async function runGrowthMemory(
  ctx: RunContext,
  growth: GrowthResult,
  server: ServerHandle,
  url: string,
): Promise<void> {
  const { config } = ctx;
  const { registrations: wanted, connections, sampleSeconds } = config.growth;
  // Spares: requests still in flight when the run is stopped draw from the pool too.
  const users = new Pool(
    'growth memory users',
    ctx.identities.makeUsers(wanted + 1000 + 4 * connections, 'growth-memory'),
  );
  const samples: RssSample[] = [];
  const started = performance.now();
  let done = 0;
  const sample = (mark?: string) =>
    samples.push({
      seconds: Math.round((performance.now() - started) / 100) / 10,
      registrations: done,
      rssMb: rssMb(server.pid),
      ...(mark ? { mark } : {}),
    });
  const marks = new Map([0.25, 0.5, 0.75, 1].map((f) => [Math.ceil(wanted * f), `${f * 100}%`]));
  log(`growth: ${wanted} registrations at ${connections} connections, RSS every ${sampleSeconds}s`);
  sample('start');
  const timer = setInterval(() => sample(), sampleSeconds * 1000);
  let stop: () => void = () => undefined;
  let run: RunStats;
  try {
    run = await runLoad({
      url,
      connections,
      // Bounded by the whole bench's limit; it stops as soon as enough registrations succeeded.
      seconds: config.maxSeconds,
      timeoutSeconds: config.requestTimeoutSeconds,
      pools: [users],
      expectation: { statuses: [200], bodyIncludes: '"authCode"' },
      serverPid: server.pid,
      onStart: (stopRun) => (stop = stopRun),
      requests: (check) =>
        registerRequests(users, check, () => {
          const mark = marks.get(++done);
          if (mark) sample(mark);
          if (done === wanted) stop();
        }),
    });
  } finally {
    clearInterval(timer);
  }
  sample('end');
  const rss = samples.flatMap((s) => (s.rssMb === undefined ? [] : [s.rssMb]));
  const maxRssMb = rss.length > 0 ? Math.max(...rss) : undefined;
  growth.memory = {
    registrations: done,
    seconds: run.seconds,
    rps: run.rps,
    samples,
    maxRssMb,
    limitMb: GROWTH_RSS_LIMIT_MB,
    underLimit: maxRssMb !== undefined && maxRssMb < GROWTH_RSS_LIMIT_MB,
    run,
  };
  log(`growth: ${done} registrations, RSS MB ${rss.join(' ')}`);
  if (done < wanted) growth.failures.push(`memory: only ${done} of ${wanted} registrations`);
  if (run.unexpected > 0 || run.errors > 0) {
    growth.failures.push(
      `memory: statuses ${JSON.stringify(run.statusCounts)}, ${run.errors} connection errors`,
    );
  }
  if (maxRssMb === undefined) growth.failures.push('memory: no RSS sample was taken');
  else if (!growth.memory.underLimit) {
    growth.failures.push(`memory: API RSS reached ${maxRssMb} MB (limit ${GROWTH_RSS_LIMIT_MB})`);
  }
  if (!server.alive()) growth.failures.push('memory: the API process died');
}

function gitCommit(): string | undefined {
  // Read-only.
  const result = spawnSync('git', ['rev-parse', 'HEAD'], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: 5000,
  });
  return result.status === 0 ? result.stdout.trim() : undefined;
}

/** Writes the JSON and prints the tables; also used when a run is aborted. */
async function report(ctx: RunContext, startedAt: Date, fatal?: string): Promise<number> {
  const { config } = ctx;
  const floor = ctx.results.find((result) => result.name === 'baseline:pg-insert')?.loaded?.rps;
  const finishedAt = new Date();
  const failed = ctx.results.filter((result) => result.failures.length > 0);
  const growthFailures = ctx.growth?.failures ?? [];
  const path = await writeResults(config.resultsDir, startedAt, {
    startedAt,
    finishedAt,
    seconds: Math.round((finishedAt.getTime() - startedAt.getTime()) / 1000),
    commit: gitCommit(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model,
      memoryMb: Math.round(totalmem() / 2 ** 20),
      node: process.version,
      platform: process.platform,
      loadAverageAtStart: ctx.loadAtStart.map((load) => Math.round(load * 100) / 100),
    },
    settings: {
      durationSeconds: config.durationSeconds,
      connections: config.connections,
      warmupSeconds: config.warmupSeconds,
      unloadedSeconds: config.unloadedSeconds,
      poolRate: config.poolRate,
      groups: [...config.groups],
      apiNodeOptions: API_NODE_OPTIONS,
    },
    notes: NOTES,
    serverEnv: ctx.serverEnv,
    floorRps: floor,
    results: ctx.results,
    databaseRowsAfterPostgresGroup: ctx.databaseRows,
    outboxAfterPostgresGroup: ctx.outbox,
    growth: ctx.growth,
    serverLogs: ctx.logs,
    fatal,
  });

  const out = process.stdout;
  if (ctx.results.length > 0 || !ctx.growth) out.write(`\n${renderTables(ctx.results, floor)}\n\n`);
  if (ctx.growth) out.write(`\n${renderGrowth(ctx.growth)}\n\n`);
  out.write(
    'non-2xx/errors: answers other than the scenario expects / connection errors and timeouts. ' +
      '"vs floor": req/s over baseline:pg-insert. 1-conn: latency of one connection, no queueing.\n' +
      `CPU: percent of one core (postgres: all its processes; other: the rest of the machine); machine: percent of all ${cpus().length} cores; ms/req: CPU time per request.\n` +
      `CPU-bound req/s: req/s x cores / (server + postgres + client CPU): the most the path's own CPU cost allows here, its "vs floor" the best ratio it could reach.\n`,
  );
  for (const note of NOTES) out.write(`note: ${note}\n`);
  for (const summary of ctx.logs) {
    const levels = Object.entries(summary.byLevel)
      .map(([level, n]) => `${level} ${n}`)
      .join(', ');
    out.write(
      `log ${summary.server}: ${summary.stop}; ${summary.lines} lines${levels ? ` (${levels})` : ''}\n`,
    );
    for (const excerpt of summary.excerpts.slice(0, 3)) out.write(`    ${excerpt}\n`);
  }
  for (const result of failed) {
    out.write(`FAILED ${result.name}:\n`);
    for (const failure of result.failures) out.write(`  - ${failure}\n`);
    for (const sample of result.loaded?.unexpectedSamples.slice(0, 3) ?? []) {
      out.write(`    e.g. ${sample.status} ${sample.body}\n`);
    }
  }
  if (growthFailures.length > 0) {
    out.write('FAILED growth:\n');
    for (const failure of growthFailures) out.write(`  - ${failure}\n`);
  }
  if (fatal) out.write(`FAILED: the bench stopped early: ${fatal.split('\n')[0]}\n`);
  out.write(`results: ${path}\n`);
  return fatal || failed.length > 0 || growthFailures.length > 0 ? 1 : 0;
}

async function main(): Promise<number> {
  const config = readBenchConfig(process.env, join(ROOT, 'bench', 'results'));
  const startedAt = new Date();
  const tmp = mkdtempSync(join(tmpdir(), 'otp-link-bench-'));
  process.on('exit', () => {
    killAllNow();
    if (!config.keep) rmSync(tmp, { recursive: true, force: true });
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => abort(`${signal}: stopping every process the bench started`, 130));
  }
  setTimeout(
    () => abort(`BENCH_MAX_SECONDS (${config.maxSeconds}) passed: stopping`, 2),
    config.maxSeconds * 1000,
  ).unref();

  const databaseName = newDatabaseName();
  const keys = secrets();
  const ctx: RunContext = {
    config,
    tmp,
    databaseName,
    databaseUrl: databaseUrl(config.pgAdminUrl, databaseName),
    keys,
    identities: new IdentityFactory(keys.partnerJwtSecret),
    results: [],
    logs: [],
    serverEnv: {},
    loadAtStart: loadavg(),
  };
  log(
    `duration ${config.durationSeconds}s, ${config.connections} connections, warm-up ${config.warmupSeconds}s, ` +
      `1-connection ${config.unloadedSeconds}s; groups ${[...config.groups].join(', ')}; temp ${tmp}`,
  );

  reportSoFar = (reason) => report(ctx, startedAt, `aborted: ${reason}`);
  let fatal: string | undefined;
  try {
    if (!config.skipBuild) {
      log('building (npx nest build)');
      await runCommand('build', 'npx', ['nest', 'build'], {
        cwd: ROOT,
        env: process.env,
        timeoutMs: BUILD_TIMEOUT_MS,
      });
    }
    log(`creating database ${databaseName}`);
    await createDatabase(config.pgAdminUrl, databaseName);
    cleanups.push({
      name: 'drop database',
      run: async () => {
        if (config.keep) return log(`kept database ${databaseName}`);
        await dropDatabase(config.pgAdminUrl, databaseName);
      },
    });
    log('applying migrations');
    await runCommand('migrate', NODE, [join(ROOT, 'dist/apps/api/src/migrate.js')], {
      cwd: tmp,
      env: { PATH: process.env.PATH ?? '', NODE_ENV: 'bench', DATABASE_URL: ctx.databaseUrl },
      timeoutMs: MIGRATE_TIMEOUT_MS,
    });

    if (config.groups.has('baselines')) await runBaselines(ctx);
    if (config.groups.has('cold')) await runCold(ctx);
    if (config.groups.has('postgres')) await runPostgres(ctx);
    if (config.groups.has('embedded')) await runEmbedded(ctx);
    if (config.groups.has('growth')) await runGrowth(ctx);
  } catch (error) {
    fatal = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`stopped early: ${fatal}`);
  } finally {
    reportSoFar = undefined;
    await runCleanups();
  }

  return report(ctx, startedAt, fatal);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(`failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void runCleanups().finally(() => process.exit(1));
  },
);
