import autocannon from 'autocannon';
import { cpuBetween, rssMb, sampleCpu, type CpuUse } from './system';

/**
 * Items used once each (a token that must not register twice, a challenge verified once), or
 * reused round-robin (`cycle`). When a one-shot pool runs dry the run it feeds is stopped and
 * marked failed: recycled items would measure another path (a resend, an idempotent verify).
 */
export class Pool<T> {
  private index = 0;
  private onEmpty?: () => void;
  exhausted = false;

  constructor(
    readonly name: string,
    private readonly items: T[],
    private readonly mode: 'once' | 'cycle' = 'once',
  ) {
    if (items.length === 0) throw new Error(`pool ${name} is empty`);
  }

  get size(): number {
    return this.items.length;
  }

  get used(): number {
    return this.index;
  }

  /** More items for a one-shot pool (the embedded database's challenges come in two batches). */
  add(items: T[]): void {
    this.items.push(...items);
    if (this.index < this.items.length) this.exhausted = false;
  }

  get remaining(): number {
    return this.mode === 'cycle' ? Infinity : Math.max(0, this.items.length - this.index);
  }

  /** What to do when a one-shot pool runs dry during the current run. */
  whenEmpty(callback: (() => void) | undefined): void {
    this.onEmpty = callback;
  }

  next(): T {
    if (this.index < this.items.length) return this.items[this.index++];
    if (this.mode === 'once') {
      // Every time, not only the first: a later run drawing from a dry pool must stop too.
      this.exhausted = true;
      this.onEmpty?.();
    }
    // Something must still be sent until the stop takes effect (at most one sample, 1 s).
    return this.items[this.index++ % this.items.length];
  }
}

export interface Expectation {
  /** Statuses that count as success in this scenario. */
  statuses: number[];
  /** A text each successful body must contain (e.g. the error code of an expected 400). */
  bodyIncludes?: string;
}

/** Counts answers against the scenario's expectation and keeps a few unexpected ones as evidence. */
export class ResponseCheck {
  ok = 0;
  unexpected = 0;
  readonly samples: Array<{ status: number; body: string }> = [];

  constructor(readonly expectation: Expectation) {}

  record(status: number, body: string): boolean {
    const good =
      this.expectation.statuses.includes(status) &&
      (this.expectation.bodyIncludes === undefined || body.includes(this.expectation.bodyIncludes));
    if (good) {
      this.ok++;
      return true;
    }
    this.unexpected++;
    if (this.samples.length < 5) this.samples.push({ status, body: body.slice(0, 300) });
    return false;
  }
}

export interface Latency {
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface RunStats {
  connections: number;
  /** Seconds, as measured by autocannon. */
  seconds: number;
  /** Completed requests (every status). */
  requests: number;
  rps: number;
  latency: Latency;
  statusCounts: Record<string, number>;
  /** Answers outside the expectation (a wrong status, or a body without the expected text). */
  unexpected: number;
  /** Connection errors (timeouts included) and timeouts alone. */
  errors: number;
  timeouts: number;
  unexpectedSamples: Array<{ status: number; body: string }>;
  /** A one-shot pool ran dry: the run stopped early and its numbers are not to be trusted. */
  poolExhausted?: string;
  cpu?: CpuUse;
  serverRssMb?: { before?: number; after?: number };
}

export interface LoadSpec {
  url: string;
  connections: number;
  seconds: number;
  timeoutSeconds: number;
  /** Pools this run draws from: a dry one stops it. */
  pools: Array<Pool<unknown>>;
  /** Builds the request sequence; `check` must see every answer (wrap onResponse with it). */
  requests: (check: ResponseCheck) => autocannon.Request[];
  expectation: Expectation;
  /** The server process, for CPU and memory figures. */
  serverPid?: number;
  /** Receives a function that ends the run early (a top-up run stops once it has enough). */
  onStart?: (stop: () => void) => void;
}

function round(value: number, digits = 2): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}

/** One bounded autocannon run. Never runs longer than `seconds` + timeout + a margin. */
export async function runLoad(spec: LoadSpec): Promise<RunStats> {
  const check = new ResponseCheck(spec.expectation);
  let exhausted: string | undefined;
  let instance: autocannon.Instance | undefined;
  let stopEarly = false;
  const stop = () => {
    stopEarly = true;
    instance?.stop();
  };
  for (const pool of spec.pools) {
    pool.whenEmpty(() => {
      exhausted ??= `pool ${pool.name} ran dry after ${pool.size} items (raise BENCH_POOL_RATE)`;
      stop();
    });
  }

  spec.onStart?.(stop);
  const rssBefore = spec.serverPid === undefined ? undefined : rssMb(spec.serverPid);
  const cpuBefore = sampleCpu(spec.serverPid);
  // autocannon's histogram has 1 ms resolution; unloaded runs need better, so keep every time.
  const times: number[] = [];
  let guard: NodeJS.Timeout | undefined;
  try {
    const result = await new Promise<autocannon.Result>((resolve, reject) => {
      instance = autocannon(
        {
          url: spec.url,
          connections: spec.connections,
          duration: spec.seconds,
          timeout: spec.timeoutSeconds,
          requests: spec.requests(check),
        },
        (error: Error | null, done: autocannon.Result) => (error ? reject(error) : resolve(done)),
      );
      instance.on('response', (_client, _status, _bytes, ms) => times.push(ms));
      if (stopEarly) instance.stop(); // a pool ran dry while the connections were being set up
      // autocannon ends by itself; this only bounds a run that would not.
      guard = setTimeout(
        () => {
          instance?.stop();
          setTimeout(() => reject(new Error('load run did not end after stop()')), 10_000).unref();
        },
        (spec.seconds + spec.timeoutSeconds + 15) * 1000,
      );
    });
    const cpu = cpuBetween(cpuBefore, sampleCpu(spec.serverPid));
    const statusCounts: Record<string, number> = {};
    for (const [status, stats] of Object.entries(result.statusCodeStats ?? {})) {
      statusCounts[status] = stats.count ?? 0;
    }
    return {
      connections: spec.connections,
      seconds: result.duration,
      requests: result.requests.total,
      rps: result.duration > 0 ? round(result.requests.total / result.duration, 1) : 0,
      latency: percentiles(times) ?? { p50: 0, p90: 0, p99: 0, max: 0, mean: 0 },
      statusCounts,
      unexpected: check.unexpected,
      errors: result.errors,
      timeouts: result.timeouts,
      unexpectedSamples: check.samples,
      ...(exhausted ? { poolExhausted: exhausted } : {}),
      cpu,
      serverRssMb:
        spec.serverPid === undefined
          ? undefined
          : { before: rssBefore, after: rssMb(spec.serverPid) },
    };
  } finally {
    clearTimeout(guard);
    for (const pool of spec.pools) pool.whenEmpty(undefined);
  }
}

/** Nearest-rank percentiles of client-side timings (the flow's steps), in ms. */
export function percentiles(values: number[]): Latency | undefined {
  if (values.length === 0) return undefined;
  const sorted = Float64Array.from(values).sort();
  const at = (p: number) =>
    sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const mean = values.reduce((sum, value) => sum + value, 0) / values.length;
  return {
    p50: round(at(50)),
    p90: round(at(90)),
    p99: round(at(99)),
    max: round(sorted[sorted.length - 1]),
    mean: round(mean),
  };
}
