/** What a bench run does, from BENCH_* environment variables (all optional). */
export interface BenchConfig {
  /** Seconds of each measured run at `connections`. */
  durationSeconds: number;
  connections: number;
  /** Seconds of load before each measured run, not recorded. */
  warmupSeconds: number;
  /** Seconds of the 1-connection run per path (latency without queueing). */
  unloadedSeconds: number;
  /** Per-request timeout of the load driver. */
  requestTimeoutSeconds: number;
  /** A maintenance database of the PostgreSQL server; bench databases are created next to it. */
  pgAdminUrl: string;
  /** Groups to run: baselines, cold, postgres, embedded (the default), growth (only when asked for). */
  groups: Set<BenchGroup>;
  /** Reuse dist/ instead of running `nest build`. */
  skipBuild: boolean;
  /** Keep the temp dir (server logs, notify files) and the bench database. */
  keep: boolean;
  /** Hard limit of the whole run; everything is stopped when it passes. */
  maxSeconds: number;
  /**
   * Highest request rate a pool of one-shot items (tokens, challenges) is sized for. A pool that
   * runs dry stops its run early and marks it failed, so raise this rather than trust such a run.
   */
  poolRate: number;
  /** Passed to the API as REDIS_URL when set (shared throttler storage, as in production). */
  redisUrl?: string;
  /** Passed to the API as DATABASE_POOL_SIZE (and used by the database floor) when set. */
  databasePoolSize?: number;
  resultsDir: string;
  growth: GrowthConfig;
  /** Only the PostgreSQL scenarios whose names start with one of these (empty: all). */
  scenarios: string[];
  /** A directory: the API processes run with --cpu-prof and write their profiles there. */
  cpuProfileDir?: string;
}

/** The opt-in `growth` group: latency at two table sizes, then memory over many registrations. */
export interface GrowthConfig {
  /** Rows of otp_challenges and of otp_sends for the large measurement (the small one has 10 000). */
  rows: number;
  /** Registrations of the memory run (0 skips it). */
  registrations: number;
  /** Connections of the lightly loaded runs and of the memory run. */
  connections: number;
  /** Seconds of each lightly loaded run. */
  durationSeconds: number;
  /** Seconds between two RSS samples of the memory run. */
  sampleSeconds: number;
}

export const BENCH_GROUPS = ['baselines', 'cold', 'postgres', 'embedded', 'growth'] as const;
export type BenchGroup = (typeof BENCH_GROUPS)[number];
/** What a run without BENCH_ONLY does: `growth` takes minutes and seeds millions of rows. */
const DEFAULT_GROUPS: BenchGroup[] = ['baselines', 'cold', 'postgres', 'embedded'];

function number(env: NodeJS.ProcessEnv, name: string, fallback: number, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    throw new Error(`${name} must be a number >= ${min}, got ${JSON.stringify(raw)}`);
  }
  return value;
}

function flag(env: NodeJS.ProcessEnv, name: string): boolean {
  return ['1', 'true', 'yes'].includes((env[name] ?? '').toLowerCase());
}

export function readBenchConfig(env: NodeJS.ProcessEnv, resultsDir: string): BenchConfig {
  // BENCH_GROUPS is accepted as another name of BENCH_ONLY.
  const only = (env.BENCH_ONLY ?? env.BENCH_GROUPS ?? '')
    .split(',')
    .map((group) => group.trim())
    .filter(Boolean);
  for (const group of only) {
    if (!(BENCH_GROUPS as readonly string[]).includes(group)) {
      throw new Error(`BENCH_ONLY: unknown group ${group} (known: ${BENCH_GROUPS.join(', ')})`);
    }
  }
  const durationSeconds = number(env, 'BENCH_DURATION', 10, 1);
  const poolSize = env.BENCH_DATABASE_POOL_SIZE;
  return {
    durationSeconds,
    connections: Math.round(number(env, 'BENCH_CONNECTIONS', 50, 1)),
    // A short run gets a short warm-up too, so a smoke run stays quick.
    warmupSeconds: number(env, 'BENCH_WARMUP', Math.min(2, durationSeconds), 0),
    unloadedSeconds: number(env, 'BENCH_UNLOADED_DURATION', Math.min(3, durationSeconds), 0),
    requestTimeoutSeconds: number(env, 'BENCH_REQUEST_TIMEOUT', 10, 1),
    pgAdminUrl: env.BENCH_PG_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres',
    groups: new Set<BenchGroup>(only.length > 0 ? (only as BenchGroup[]) : DEFAULT_GROUPS),
    skipBuild: flag(env, 'BENCH_SKIP_BUILD'),
    keep: flag(env, 'BENCH_KEEP'),
    maxSeconds: number(env, 'BENCH_MAX_SECONDS', 900, 30),
    poolRate: number(env, 'BENCH_POOL_RATE', 2500, 10),
    redisUrl: env.BENCH_REDIS_URL || undefined,
    databasePoolSize: poolSize
      ? Math.round(number(env, 'BENCH_DATABASE_POOL_SIZE', 10, 1))
      : undefined,
    resultsDir,
    scenarios: (env.BENCH_SCENARIOS ?? '')
      .split(',')
      .map((name) => name.trim())
      .filter(Boolean),
    cpuProfileDir: env.BENCH_CPU_PROFILE || undefined,
    growth: {
      rows: Math.round(number(env, 'BENCH_GROWTH_ROWS', 1_000_000, 10_000)),
      registrations: Math.round(number(env, 'BENCH_GROWTH_REGISTRATIONS', 100_000, 0)),
      connections: Math.round(number(env, 'BENCH_GROWTH_CONNECTIONS', 10, 1)),
      durationSeconds: number(env, 'BENCH_GROWTH_DURATION', 5, 1),
      sampleSeconds: number(env, 'BENCH_GROWTH_SAMPLE_SECONDS', 5, 1),
    },
  };
}
