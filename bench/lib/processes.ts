import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';

/**
 * Every process the bench starts, so they can be stopped by PID whatever happens (an error, ^C,
 * the watchdog). Each runs in its own process group (detached) so a group kill also reaches the
 * grandchildren of `npx`, and a ^C in the terminal reaches only the bench, which then stops them.
 */
const running = new Map<number, { name: string; child: ChildProcess }>();

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // Already gone.
    }
  }
}

/** Synchronous, so it also works from an 'exit' handler. */
export function killAllNow(): void {
  for (const [pid] of running) signalGroup(pid, 'SIGKILL');
  running.clear();
}

function track(name: string, child: ChildProcess): number {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${name}: could not be started`);
  running.set(pid, { name, child });
  child.once('exit', () => running.delete(pid));
  return pid;
}

function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

function tail(text: string, lines = 40): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export interface CommandOptions {
  env: NodeJS.ProcessEnv;
  cwd: string;
  timeoutMs: number;
}

/** Runs a command to completion within `timeoutMs`; rejects with its output's tail otherwise. */
export async function runCommand(
  name: string,
  command: string,
  args: string[],
  options: CommandOptions,
): Promise<string> {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  const pid = track(name, child);
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    signalGroup(pid, 'SIGKILL');
  }, options.timeoutMs);
  try {
    const { code, signal } = await exitOf(child);
    if (timedOut)
      throw new Error(`${name} did not finish within ${options.timeoutMs} ms:\n${tail(output)}`);
    if (code !== 0) {
      throw new Error(`${name} failed (exit ${code ?? signal}):\n${tail(output)}`);
    }
    return output;
  } finally {
    clearTimeout(timer);
  }
}

/** A free loopback port for a child server. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** GET a loopback URL; resolves with the status, or 0 when the connection fails. */
export function probe(url: string, timeoutMs = 2000): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('timeout', () => req.destroy());
    req.once('error', () => resolve(0));
    req.end();
  });
}

export interface ServerOptions extends CommandOptions {
  /** stdout and stderr go here (a file, not a pipe: nothing to drain while under load). */
  logFile: string;
  /** Polled until it answers 200. */
  readyUrl: string;
}

export interface ServerHandle {
  name: string;
  pid: number;
  logFile: string;
  /** True while the process runs. */
  alive(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with how it ended. */
  stop(graceMs?: number): Promise<string>;
}

/** Starts a long-running child and waits until `readyUrl` answers 200 (or it exits, or time runs out). */
export async function startServer(
  name: string,
  command: string,
  args: string[],
  options: ServerOptions,
): Promise<ServerHandle> {
  const log = openSync(options.logFile, 'a');
  let child: ChildProcess;
  try {
    child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', log, log],
      detached: true,
    });
  } finally {
    closeSync(log); // the child holds its own copy
  }
  const pid = track(name, child);
  const exited = exitOf(child);
  const handle: ServerHandle = {
    name,
    pid,
    logFile: options.logFile,
    alive: () => child.exitCode === null && child.signalCode === null,
    stop: async (graceMs = 10_000) => {
      if (!handle.alive()) {
        const { code, signal } = await exited;
        return `had already exited (${code ?? signal})`;
      }
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      const { code, signal } = await exited;
      clearTimeout(timer);
      return code === 0 ? 'stopped' : `stopped (${code ?? signal})`;
    },
  };

  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    if (!handle.alive()) {
      const { code, signal } = await exited;
      throw new Error(
        `${name} exited (${code ?? signal}) before it was ready:\n${tail(readFileSync(options.logFile, 'utf8'))}`,
      );
    }
    if ((await probe(options.readyUrl)) === 200) return handle;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  await handle.stop(2000);
  throw new Error(
    `${name} not ready within ${options.timeoutMs} ms:\n${tail(readFileSync(options.logFile, 'utf8'))}`,
  );
}
