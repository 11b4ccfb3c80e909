import { renameSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Preloaded into a server child process (no product change) to measure its event-loop lag:
 *
 *   NODE_OPTIONS="--require ts-node/register/transpile-only --require <this file>"
 *   LOOP_LAG_FILE=/tmp/…/lag.json
 *
 * Every second and at exit it writes the percentiles of perf_hooks.monitorEventLoopDelay (in
 * ms) and the process's memory to LOOP_LAG_FILE (atomically: write, then rename). SIGUSR2
 * resets the histogram, so a test can leave start-up (module loading, compiling) out of it.
 * SIGWINCH runs a full garbage collection and reports the memory right after it (what is really
 * retained, for leak checks); both signals are ignored by a process without the probe.
 * Without LOOP_LAG_FILE it does nothing.
 */

export interface LoopLagReport {
  /**
   * The sampling interval. Each recorded delay spans one interval plus the lag, so the lag
   * itself is about the value minus this (an idle loop reads ≈ resolutionMs).
   */
  resolutionMs: number;
  /** Samples (timer expirations) in the histogram. */
  count: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  maxMs: number;
  /** When the histogram was last reset (start, or SIGUSR2). */
  since: string;
  at: string;
  resets: number;
  rssBytes: number;
  heapUsedBytes: number;
  /** Full collections run on SIGWINCH, and the memory right after the last one. */
  gcRuns: number;
  rssAfterGcBytes: number | null;
  heapUsedAfterGcBytes: number | null;
  /** How long the last forced collection blocked the loop. */
  gcMs: number | null;
}

const RESOLUTION_MS = 10;
const WRITE_INTERVAL_MS = 1_000;
const NS_PER_MS = 1e6;

const file = process.env.LOOP_LAG_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
  let since = new Date();
  let resets = 0;
  let gcRuns = 0;
  let afterGc: { rss: number; heapUsed: number; ms: number } | undefined;

  const write = (): void => {
    const memory = process.memoryUsage();
    const report: LoopLagReport = {
      resolutionMs: RESOLUTION_MS,
      count: histogram.count,
      minMs: histogram.min / NS_PER_MS,
      meanMs: histogram.mean / NS_PER_MS,
      p50Ms: histogram.percentile(50) / NS_PER_MS,
      p90Ms: histogram.percentile(90) / NS_PER_MS,
      p99Ms: histogram.percentile(99) / NS_PER_MS,
      maxMs: histogram.max / NS_PER_MS,
      since: since.toISOString(),
      at: new Date().toISOString(),
      resets,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      gcRuns,
      rssAfterGcBytes: afterGc?.rss ?? null,
      heapUsedAfterGcBytes: afterGc?.heapUsed ?? null,
      gcMs: afterGc?.ms ?? null,
    };
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(report));
      renameSync(`${file}.tmp`, file);
    } catch {
      // A probe must never take the server down.
    }
  };

  setInterval(write, WRITE_INTERVAL_MS).unref();
  process.on('SIGUSR2', () => {
    histogram.reset();
    since = new Date();
    resets++;
    write();
  });
  process.on('SIGWINCH', () => {
    // gc() without starting the server with --expose-gc: the flag only gives new contexts a
    // `gc` global, so the server's own context is unchanged.
    setFlagsFromString('--expose_gc');
    const gc = runInNewContext('gc') as () => void;
    const started = performance.now();
    gc();
    const ms = performance.now() - started;
    const { rss, heapUsed } = process.memoryUsage();
    afterGc = { rss, heapUsed, ms };
    gcRuns++;
    write();
  });
  process.on('exit', write);
}
