import { ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'apps', 'api', 'src', 'main.ts');
const CLI = join(ROOT, 'apps', 'cli', 'src', 'main.ts');
/** Entry points run as `npm start` / `npm run cli` run them in development. */
const TS_NODE = ['-r', 'ts-node/register/transpile-only', '-r', 'tsconfig-paths/register'];

export interface ServerProcess {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  /** Resolves with the exit code (and signal) once the process has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the log says it is listening; rejects if it exits first or `timeoutMs` passes. */
  listening(timeoutMs?: number): Promise<void>;
  /** Ends it by PID whatever state it is in. */
  kill(): void;
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

/**
 * Runs the real entry point (apps/api/src/main.ts through ts-node, as `npm start` would run the
 * built one) with exactly `env` plus PATH: no inherited configuration.
 */
export function startServerProcess(env: Record<string, string>): ServerProcess {
  const child = spawn(process.execPath, [...TS_NODE, MAIN], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
  child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString('utf8')));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    // A fresh embedded database is created and migrated first: 15 s idle, 45 s on a loaded machine.
    listening: (timeoutMs = 120_000) =>
      new Promise<void>((resolve, reject) => {
        const deadline = setTimeout(
          () => reject(new Error(`not listening after ${timeoutMs} ms:\n${err}`)),
          timeoutMs,
        );
        const check = () => {
          if (out.includes('"msg":"otp-link listening"')) {
            clearTimeout(deadline);
            resolve();
          }
        };
        child.stdout?.on('data', check);
        check();
        void exited.then(({ code }) => {
          clearTimeout(deadline);
          reject(new Error(`exited with ${code} before listening:\n${err}`));
        });
      }),
    kill: () => {
      // A child ended by a signal keeps exitCode null: check signalCode too (no ESRCH).
      if (child.exitCode === null && child.signalCode === null && child.pid) {
        process.kill(child.pid, 'SIGKILL');
      }
    },
  };
}

export interface CliProcessResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout as JSON, when it is. */
  json?: Record<string, unknown>;
}

/**
 * Runs the admin CLI (apps/cli/src/main.ts, as `npm run cli --` does) with exactly `env` plus
 * PATH, and waits for it to end; killed by PID after `timeoutMs`.
 */
export function runCliProcess(
  argv: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliProcessResult> {
  return runTsProcess(CLI, argv, env, timeoutMs);
}

/** Runs a TypeScript entry point (absolute, or from the repository's root) as `npm run` would. */
export function runTsProcess(
  entry: string,
  argv: string[],
  env: Record<string, string>,
  timeoutMs = 60_000,
): Promise<CliProcessResult> {
  const child = spawn(process.execPath, [...TS_NODE, resolve(ROOT, entry), ...argv], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      let json: Record<string, unknown> | undefined;
      try {
        json = JSON.parse(stdout) as Record<string, unknown>;
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    }),
  );
}
