import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { freePort, ServerProcess, startServerProcess } from '../support/server-process';
import type { SentMessage } from '../support/otp-client';
import type { RecordedRequest, ScriptedResponse, TwilioFake } from '../support/twilio-fake';

/** Shared by the chaos specs: bounded HTTP calls, API child processes, waiting, statistics. */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `probe` until it returns a truthy value; fails naming `what` after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => T | Promise<T>,
  { timeoutMs = 30_000, intervalMs = 50 } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

/** One HTTP exchange as a load client saw it. `status` 0: no answer (network error or timeout). */
export interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: Record<string, string>;
  /** Date.now() when the request was started and when its answer (or failure) came. */
  startedAt: number;
  endedAt: number;
  ms: number;
  /** Why there is no answer, when status is 0. */
  error?: string;
}

/** A real HTTP call over loopback, never waiting longer than `timeoutMs`. */
export async function call(
  baseUrl: string,
  method: 'GET' | 'POST',
  path: string,
  options: { body?: unknown; token?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (options.token) headers['user-jwt-token'] = options.token;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const startedAt = Date.now();
  const t0 = performance.now();
  try {
    const response = await fetch(`${baseUrl}${path}`, {
      method,
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 15_000),
    });
    const text = await response.text();
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { raw: text };
    }
    return {
      status: response.status,
      body,
      headers: Object.fromEntries(response.headers.entries()),
      startedAt,
      endedAt: Date.now(),
      ms: performance.now() - t0,
    };
  } catch (error) {
    const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    return {
      status: 0,
      body: {},
      headers: {},
      startedAt,
      endedAt: Date.now(),
      ms: performance.now() - t0,
      error: reason,
    };
  }
}

/** The frontend calls of the contract, for one partner user. */
export const api = {
  register: (url: string, token: string, national: string, timeoutMs?: number) =>
    call(url, 'POST', '/fe/users/auth/otp/register', {
      token,
      body: { phone_number: national, countryCode: '+91' },
      timeoutMs,
    }),
  verify: (url: string, token: string, national: string, authCode: string, otp: string) =>
    call(url, 'POST', '/fe/users/auth/otp/verify', {
      token,
      body: { phone_number: national, countryCode: '+91', authCode, otp },
    }),
  linked: (url: string, token: string) =>
    call(url, 'GET', '/fe/users/account/linked-mobile-number', { token }),
  config: (url: string) => call(url, 'GET', '/fe/users/auth/otp/config'),
  health: (url: string, timeoutMs?: number) => call(url, 'GET', '/health', { timeoutMs }),
};

/**
 * Environment shared by the chaos runs: limits raised so that load from one loopback client
 * is not refused by the abuse limits (they are not under test here).
 */
export function loadEnv(): Record<string, string> {
  return {
    HTTP_RATE_LIMIT_PER_MINUTE: '100000000',
    OTP_MAX_SENDS_PER_HOUR: '100000000',
    OTP_MAX_SENDS_PER_PREFIX_PER_HOUR: '100000000',
    OTP_MAX_SENDS_PER_PHONE_PER_HOUR: '1000',
    OTP_MAX_SENDS_PER_USER_PER_HOUR: '1000',
    OTP_MAX_SENDS_PER_CLIENT_PER_HOUR: '100000000',
    PUMPING_MIN_SENDS: '1000000000',
  };
}

/** The twilio driver's environment, pointed at `fake` (or at a proxy in front of it). */
export function twilioEnv(fake: TwilioFake, apiUrl = fake.url): Record<string, string> {
  return {
    NOTIFY_DRIVER: 'twilio',
    TWILIO_API_URL: apiUrl,
    TWILIO_ACCOUNT_SID: fake.accountSid,
    TWILIO_AUTH_TOKEN: fake.authToken,
    TWILIO_FROM: '+15005550006',
  };
}

/**
 * Time-based behaviour for the Twilio fake, whose script is a queue consumed one response per
 * request: while `start(...)`ed, the queue is kept topped up with the given responses (in
 * turn), so every request meanwhile gets one of them; `stop()` empties the queue so requests get
 * the fake's default (201, accepted) again. Also stamps each request with its arrival time.
 */
export class FakeScript {
  /** Arrival time (Date.now(), within `STAMP_MS`) of each request the fake recorded. */
  readonly arrivedAt = new Map<RecordedRequest, number>();
  private pushed = 0;
  private consumedBase = 0;
  private responses: ScriptedResponse[] = [];
  private readonly timer: NodeJS.Timeout;

  private static readonly AHEAD = 50;
  private static readonly STAMP_MS = 5;

  constructor(private readonly fake: TwilioFake) {
    this.timer = setInterval(() => this.tick(), FakeScript.STAMP_MS);
  }

  start(...responses: ScriptedResponse[]): void {
    this.responses = responses;
    this.pushed = 0;
    this.consumedBase = this.fake.requests.length;
    this.tick();
  }

  /** Back to the default answer at once, for every request from now on. */
  stop(): void {
    this.responses = [];
    // reset() also forgets recordings; put them back in the same synchronous step, so no
    // request can arrive in between (the fake runs on this event loop).
    const requests = [...this.fake.requests];
    const messages = [...this.fake.messages];
    this.fake.reset();
    this.fake.requests.push(...requests);
    this.fake.messages.push(...messages);
  }

  dispose(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    for (const request of this.fake.requests) {
      if (!this.arrivedAt.has(request)) this.arrivedAt.set(request, now);
    }
    if (this.responses.length === 0) return;
    const consumed = this.fake.requests.length - this.consumedBase;
    while (this.pushed - consumed < FakeScript.AHEAD) {
      this.fake.respondWith(this.responses[this.pushed % this.responses.length]);
      this.pushed++;
    }
  }
}

export interface RunningApi {
  server: ServerProcess;
  url: string;
  pid: number;
}

/**
 * The API processes a spec started. `stopAll()` (call it in afterEach/afterAll) ends every one
 * still running by PID with SIGKILL and waits for its exit, whatever state the test left.
 */
export class ApiProcesses {
  private readonly started: ServerProcess[] = [];

  async start(env: Record<string, string>, port?: number): Promise<RunningApi> {
    const listenOn = port ?? (await freePort());
    const server = startServerProcess({ ...env, PORT: String(listenOn) });
    this.started.push(server);
    await server.listening(60_000);
    if (!server.child.pid) throw new Error('the API process has no pid');
    return { server, url: `http://127.0.0.1:${listenOn}`, pid: server.child.pid };
  }

  async stopAll(): Promise<void> {
    const started = this.started.splice(0);
    for (const server of started) {
      // ServerProcess.kill() checks only exitCode, which stays null for a process ended by a
      // signal (one a test already SIGKILLed): signalCode tells those apart (no ESRCH).
      const { child } = server;
      if (child.exitCode !== null || child.signalCode !== null) continue;
      try {
        server.kill();
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
      }
    }
    await Promise.all(started.map((server) => server.exited));
  }
}

/** Lines the API logged at warn level or above (pino levels 40+), for failure messages. */
export function problemLines(server: ServerProcess, limit = 20): string[] {
  return server
    .stdout()
    .split('\n')
    .filter((line) => /"level":"(warn|error|fatal)"/.test(line))
    .slice(-limit);
}

/**
 * Follows NOTIFY_FILE (file driver) incrementally: reads only what was appended since the last
 * call, so a long soak does not re-read a growing file for every verify.
 */
export class NotifyFileTail {
  readonly messages: SentMessage[] = [];
  private offset = 0;
  private partial = '';

  constructor(private readonly path: string) {}

  /** Reads new lines; returns all messages so far. */
  poll(): SentMessage[] {
    if (!existsSync(this.path)) return this.messages;
    const size = statSync(this.path).size;
    if (size <= this.offset) return this.messages;
    const buffer = Buffer.alloc(size - this.offset);
    const fd = openSync(this.path, 'r');
    try {
      readSync(fd, buffer, 0, buffer.length, this.offset);
    } finally {
      closeSync(fd);
    }
    this.offset = size;
    const lines = (this.partial + buffer.toString('utf8')).split('\n');
    this.partial = lines.pop() ?? '';
    for (const line of lines) if (line) this.messages.push(JSON.parse(line) as SentMessage);
    return this.messages;
  }

  /** The newest message carrying `authCode`, after reading what is new. */
  latestFor(authCode: string): SentMessage | undefined {
    this.poll();
    for (let i = this.messages.length - 1; i >= 0; i--) {
      if (this.messages[i].authCode === authCode) return this.messages[i];
    }
    return undefined;
  }
}

/** The q-th percentile (nearest rank) of `values`; NaN for none. */
export function percentile(values: number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((q / 100) * sorted.length) - 1));
  return sorted[rank];
}

export function summarize(values: number[]): Record<string, number> {
  const round = (n: number) => Math.round(n * 10) / 10;
  return {
    n: values.length,
    min: round(percentile(values, 0)),
    p50: round(percentile(values, 50)),
    p90: round(percentile(values, 90)),
    p99: round(percentile(values, 99)),
    max: round(percentile(values, 100)),
  };
}

/** Counts of each value, e.g. statuses: { "200": 812, "503": 97 }. */
export function tally(values: Array<string | number>): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  return counts;
}

/** Writes a measurement to the test output (Jest shows console output with the file's results). */
export function report(title: string, data: unknown): void {
  process.stdout.write(`\n[chaos] ${title}: ${JSON.stringify(data, null, 2)}\n`);
}
