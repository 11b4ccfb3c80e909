import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { format, resolveConfig } from 'prettier';
import type { RunStats } from './load';

export interface ScenarioResult {
  name: string;
  group: 'baseline' | 'cold' | 'postgres' | 'embedded' | 'growth';
  description: string;
  /** What counts as success, e.g. "200" or "400 INVALID_OTP". */
  expected: string;
  warmup?: RunStats;
  loaded?: RunStats;
  unloaded?: RunStats;
  /** Scenario-specific figures (the flow's steps, pool sizes, connections after the run). */
  extra?: Record<string, unknown>;
  /** Why this scenario counts as failed; empty when it passed. */
  failures: string[];
}

export interface ServerLogSummary {
  server: string;
  stop: string;
  lines: number;
  byLevel: Record<string, number>;
  /** The first warnings and errors (and any line that is not JSON, e.g. a crash). */
  excerpts: string[];
}

const PINO_LEVELS: Record<number, string> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

/** Counts a server log's lines by level and keeps the first few of warn and above. */
export function summarizeLog(server: string, file: string, stop: string): ServerLogSummary {
  const summary: ServerLogSummary = { server, stop, lines: 0, byLevel: {}, excerpts: [] };
  if (!existsSync(file)) return summary;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    summary.lines++;
    let level = 'raw';
    try {
      const parsed = JSON.parse(line) as { level?: number };
      level = PINO_LEVELS[parsed.level ?? 0] ?? String(parsed.level);
    } catch {
      // Not JSON: a stack trace or a message written before the logger existed.
    }
    summary.byLevel[level] = (summary.byLevel[level] ?? 0) + 1;
    if (
      level !== 'info' &&
      level !== 'debug' &&
      level !== 'trace' &&
      summary.excerpts.length < 12
    ) {
      summary.excerpts.push(line.slice(0, 600));
    }
  }
  return summary;
}

/** Failures of one scenario from its runs (non-2xx unless expected, errors, dry pools). */
export function failuresOf(result: ScenarioResult): string[] {
  const failures: string[] = [];
  for (const [phase, run] of [
    ['warm-up', result.warmup],
    ['loaded', result.loaded],
    ['unloaded', result.unloaded],
  ] as const) {
    if (!run) continue;
    if (run.unexpected > 0) {
      failures.push(
        `${phase}: ${run.unexpected} answers other than ${result.expected} (statuses ${JSON.stringify(run.statusCounts)})`,
      );
    }
    if (run.errors > 0) {
      failures.push(`${phase}: ${run.errors} connection errors (${run.timeouts} timeouts)`);
    }
    if (run.poolExhausted) failures.push(`${phase}: ${run.poolExhausted}`);
  }
  return failures;
}

function fixed(value: number | undefined, digits = 1): string {
  return value === undefined ? '-' : value.toFixed(digits);
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => row[i].length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, i) => (i === 0 ? cell.padEnd(widths[i]) : cell.padStart(widths[i])))
      .join('  ');
  return [
    line(header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...rows.map(line),
  ].join('\n');
}

/** The printed summary: throughput and latency, then where the CPU went, then flow steps. */
export function renderTables(results: ScenarioResult[], floorRps: number | undefined): string {
  const main = results.map((result) => {
    const { loaded, unloaded } = result;
    const problems = loaded ? `${loaded.unexpected} / ${loaded.errors}` : '-';
    const ratio = loaded && floorRps ? `${(loaded.rps / floorRps).toFixed(2)}x` : '-';
    return [
      result.name + (result.failures.length > 0 ? ' !' : ''),
      fixed(loaded?.rps),
      fixed(loaded?.latency.p50),
      fixed(loaded?.latency.p99),
      problems,
      ratio,
      fixed(unloaded?.latency.p50, 2),
      fixed(unloaded?.latency.p99, 2),
    ];
  });
  const cpu = results
    .filter((result) => result.loaded?.cpu)
    .map((result) => {
      const { cpu: use, serverRssMb: rss, rps } = result.loaded as RunStats;
      // CPU time per request suffers less than throughput from other work on the machine.
      const perRequest = (pct: number | undefined) =>
        pct === undefined || rps <= 0 ? '-' : ((pct / 100 / rps) * 1000).toFixed(3);
      // The most this path could serve if its server, PostgreSQL and the load driver had every
      // core to themselves and no time went idle: what its own CPU cost allows on this machine.
      const ownPct = (use?.serverPct ?? 0) + (use?.postgresPct ?? 0) + (use?.clientPct ?? 0);
      const ceiling = ownPct > 0 ? (rps * cpus().length * 100) / ownPct : undefined;
      return [
        result.name,
        use?.serverPct === undefined ? '-' : `${use.serverPct}%`,
        use?.postgresPct === undefined ? '-' : `${use.postgresPct}%`,
        perRequest(use?.serverPct),
        perRequest(use?.postgresPct),
        `${use?.clientPct ?? 0}%`,
        use?.otherPct === undefined ? '-' : `${use.otherPct}%`,
        use?.machinePct === undefined ? '-' : `${use.machinePct}%`,
        fixed(ceiling, 0),
        ceiling !== undefined && floorRps ? `${(ceiling / floorRps).toFixed(2)}x` : '-',
        rss ? `${rss.before ?? '?'} -> ${rss.after ?? '?'}` : '-',
      ];
    });
  const sections = [
    table(
      [
        'scenario',
        'req/s',
        'p50 ms',
        'p99 ms',
        'non-2xx/errors',
        'vs floor',
        '1-conn p50',
        '1-conn p99',
      ],
      main,
    ),
    '',
    table(
      [
        'CPU during the loaded run',
        'server',
        'postgres',
        'server ms/req',
        'pg ms/req',
        'client',
        'other',
        'machine',
        'CPU-bound req/s',
        'vs floor',
        'server RSS MB',
      ],
      cpu,
    ),
  ];
  for (const result of results) {
    const flow = (result.extra?.figures as Record<string, unknown> | undefined)?.loaded as
      | { flowsPerSecond: number; stepLatencyMs: Record<string, { p50: number; p99: number }> }
      | undefined;
    if (!flow) continue;
    const steps = Object.entries(flow.stepLatencyMs)
      .filter(([, latency]) => latency)
      .map(
        ([step, latency]) =>
          `${step} p50 ${fixed(latency.p50, 2)} / p99 ${fixed(latency.p99, 2)} ms`,
      )
      .join('; ');
    sections.push('', `${result.name}: ${flow.flowsPerSecond} flows/s; ${steps}`);
  }
  return sections.join('\n');
}

/** One latency measurement of the growth group at one table size. */
export interface GrowthRun {
  path: 'register' | 'verify';
  /** Rows when the path's runs started. */
  rows: { challenges: number; sends: number };
  result: ScenarioResult;
}

export interface RssSample {
  seconds: number;
  registrations: number;
  rssMb?: number;
  /** start, 25%, 50%, 75%, 100%, end; unmarked samples are the periodic ones. */
  mark?: string;
}

/** The `growth` section of the results. */
export interface GrowthResult {
  settings: Record<string, number>;
  runs: GrowthRun[];
  memory?: {
    registrations: number;
    seconds: number;
    rps: number;
    samples: RssSample[];
    maxRssMb?: number;
    limitMb: number;
    underLimit: boolean;
    run: RunStats;
  };
  failures: string[];
}

/** Latency at each table size with the large/small ratios, then the memory run's RSS. */
export function renderGrowth(growth: GrowthResult): string {
  const rows: string[][] = [];
  const ratio = (large: number, small: number) =>
    small > 0 ? `${(large / small).toFixed(2)}x` : '-';
  for (const path of ['register', 'verify'] as const) {
    for (const phase of ['unloaded', 'loaded'] as const) {
      const runs = growth.runs.filter((run) => run.path === path);
      const stats = runs.map((run) => run.result[phase]);
      runs.forEach((run, i) => {
        rows.push([
          path + (run.result.failures.length > 0 ? ' !' : ''),
          String(stats[i]?.connections ?? '-'),
          String(run.rows.challenges),
          String(run.rows.sends),
          fixed(stats[i]?.latency.p50, 2),
          fixed(stats[i]?.latency.p99, 2),
          fixed(stats[i]?.rps),
        ]);
      });
      const [small, large] = stats;
      if (small && large) {
        rows.push([
          path,
          String(large.connections),
          'ratio large/small',
          '',
          ratio(large.latency.p50, small.latency.p50),
          ratio(large.latency.p99, small.latency.p99),
          ratio(large.rps, small.rps),
        ]);
      }
    }
  }
  const sections = [
    table(['growth', 'conn', 'otp_challenges', 'otp_sends', 'p50 ms', 'p99 ms', 'req/s'], rows),
  ];
  const memory = growth.memory;
  if (memory) {
    const marked = memory.samples
      .filter((sample) => sample.mark)
      .map((sample) => `${sample.mark} ${sample.rssMb ?? '?'}`)
      .join(', ');
    sections.push(
      '',
      `growth memory: ${memory.registrations} registrations in ${memory.seconds} s (${memory.rps} req/s); ` +
        `API RSS MB: ${marked}; max ${memory.maxRssMb ?? '?'} ` +
        `(${memory.underLimit ? 'under' : 'NOT under'} ${memory.limitMb} MB)`,
    );
  }
  return sections.join('\n');
}

/**
 * Writes the JSON next to the others, atomically (a .tmp file renamed into place), in the
 * repository's Prettier style so `prettier --check bench` stays clean.
 */
export async function writeResults(dir: string, startedAt: Date, body: unknown): Promise<string> {
  mkdirSync(dir, { recursive: true });
  const name = `${startedAt.toISOString().replace(/:/g, '-')}.json`;
  const path = join(dir, name);
  let text = `${JSON.stringify(body, null, 2)}\n`;
  try {
    text = await format(text, { ...(await resolveConfig(path)), parser: 'json' });
  } catch {
    // Unformatted but complete is better than nothing.
  }
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
  return path;
}
