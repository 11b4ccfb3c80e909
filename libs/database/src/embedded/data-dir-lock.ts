import { chmodSync, closeSync, openSync, rmSync, statSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection, createServer, Server, Socket } from 'node:net';
import { createHash } from 'node:crypto';
import { join, resolve } from 'node:path';

/** A request from another process to the holder of a data directory, and its answer. */
export type ControlHandler = (request: unknown) => Promise<unknown>;

export class DataDirInUseError extends Error {
  constructor(dataDir: string) {
    super(`the embedded database in ${dataDir} is in use by another otp-link process`);
    this.name = 'DataDirInUseError';
  }
}

const SOCKET_NAME = 'otp-link.sock';
/** Held (created exclusively) by the one process taking a dead holder's socket over. */
const TAKEOVER_NAME = 'otp-link.takeover';
/** A takeover lasts milliseconds; a guard file this old was left by a process that died in one. */
const STALE_TAKEOVER_MS = 10_000;
/** How long a connection may stay silent before it has sent its request. */
const REQUEST_IDLE_MS = 30_000;
/** Unix socket paths are limited to about 108 bytes. */
const MAX_SOCKET_PATH = 100;
const MAX_MESSAGE_BYTES = 1024 * 1024;

function socketPath(dataDir: string): string {
  const dir = resolve(dataDir);
  if (process.platform === 'win32') {
    return `\\\\?\\pipe\\otp-link-${createHash('sha256').update(dir).digest('hex').slice(0, 16)}`;
  }
  const path = join(dir, SOCKET_NAME);
  if (path.length > MAX_SOCKET_PATH) {
    throw new Error(`DATA_DIR ${dir} is too long a path for the embedded database's lock socket`);
  }
  return path;
}

/**
 * One process at a time may open an embedded database: PGlite keeps its state in the process,
 * and two processes on one directory silently diverge and corrupt it. The holder listens on a
 * socket inside the directory (mode 0600); that socket is both the lock (a second process finds
 * someone answering) and the way other processes, the admin CLI above all, ask the holder to do
 * something for them. A socket left by a crashed holder answers nobody and is taken over.
 */
export class DataDirLock {
  private handler?: ControlHandler;
  private readonly server: Server = createServer((socket) => this.answer(socket));
  private readonly connections = new Set<Socket>();

  private constructor() {}

  static async acquire(dataDir: string): Promise<DataDirLock> {
    const path = socketPath(dataDir);
    const lock = new DataDirLock();
    try {
      await listen(lock.server, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      // A Windows pipe disappears with its process: in use means in use.
      if (process.platform === 'win32') throw new DataDirInUseError(dataDir);
      await takeOver(lock.server, dataDir, path);
    }
    if (process.platform !== 'win32') chmodSync(path, 0o600);
    return lock;
  }

  /** From now on, requests of other processes go to `handler`. */
  serve(handler: ControlHandler): void {
    this.handler = handler;
  }

  async release(): Promise<void> {
    this.handler = undefined;
    const closed = new Promise<void>((done) => this.server.close(() => done()));
    // Close waits for every connection: an idle peer must not hold the shutdown up.
    for (const socket of this.connections) socket.destroy();
    await closed;
    // net.Server removes its unix socket file on close; a pipe on Windows has none.
  }

  private answer(socket: Socket): void {
    this.connections.add(socket);
    socket.once('close', () => this.connections.delete(socket));
    socket.setTimeout(REQUEST_IDLE_MS, () => socket.destroy());
    readMessage(socket).then(
      async (request) => {
        if (request === undefined) return; // a liveness probe: connected and left
        socket.setTimeout(0); // the handler's own time is the asker's to bound
        const reply = this.handler
          ? await this.handler(request).catch((error: unknown) => ({
              error: error instanceof Error ? error.message : String(error),
            }))
          : { error: 'busy: the process holding the database takes no requests' };
        socket.end(`${JSON.stringify(reply)}\n`);
      },
      () => socket.destroy(),
    );
  }
}

/** Sends one request to the process holding `dataDir` and returns its answer. */
export async function askDataDirHolder(
  dataDir: string,
  request: unknown,
  timeoutMs: number,
): Promise<unknown> {
  const socket = createConnection(socketPath(dataDir));
  socket.setTimeout(timeoutMs, () => socket.destroy(new Error('no answer from the holder')));
  await new Promise<void>((done, fail) => {
    socket.once('connect', done);
    socket.once('error', fail);
  });
  socket.write(`${JSON.stringify(request)}\n`);
  const reply = await readMessage(socket);
  socket.destroy();
  if (reply === undefined) throw new Error('the holder closed the connection without answering');
  return reply;
}

/** Whether a live process holds `dataDir` (its lock socket answers). */
export function isDataDirHeld(dataDir: string): Promise<boolean> {
  return isAnswering(socketPath(dataDir));
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((done, fail) => {
    server.once('error', fail);
    server.listen(path, () => {
      server.off('error', fail);
      done();
    });
  });
}

/**
 * Takes over a socket nobody answers on (its holder died), one process at a time: two processes
 * that both found it dead must not both remove it and both open the database. The one that
 * creates the guard file probes, removes and listens; the other waits, then finds it answering.
 */
async function takeOver(server: Server, dataDir: string, path: string): Promise<void> {
  const guard = join(resolve(dataDir), TAKEOVER_NAME);
  for (let attempt = 0; attempt < 100; attempt++) {
    let fd: number;
    try {
      fd = openSync(guard, 'wx', 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (isOlderThan(guard, STALE_TAKEOVER_MS)) rmSync(guard, { force: true });
      await sleep(50);
      continue;
    }
    try {
      if (await isAnswering(path)) throw new DataDirInUseError(dataDir);
      rmSync(path, { force: true }); // left by a process that died
      await listen(server, path);
      return;
    } finally {
      closeSync(fd);
      rmSync(guard, { force: true });
    }
  }
  throw new DataDirInUseError(dataDir);
}

function isOlderThan(file: string, ms: number): boolean {
  try {
    return Date.now() - statSync(file).mtimeMs > ms;
  } catch {
    return false; // gone meanwhile: the next attempt will see
  }
}

function isAnswering(path: string): Promise<boolean> {
  return new Promise((done) => {
    const probe = createConnection(path);
    probe.once('connect', () => {
      probe.destroy();
      done(true);
    });
    probe.once('error', () => done(false));
  });
}

/** One newline-terminated JSON message; undefined when the peer closed without sending one. */
function readMessage(socket: Socket): Promise<unknown> {
  return new Promise((done, fail) => {
    let buffered = '';
    socket.setEncoding('utf8');
    const onData = (chunk: string) => {
      buffered += chunk;
      const end = buffered.indexOf('\n');
      if (end < 0 && buffered.length <= MAX_MESSAGE_BYTES) return;
      // One message per connection: whatever follows it is not read.
      socket.off('data', onData);
      if (end < 0 || end > MAX_MESSAGE_BYTES) {
        socket.destroy();
        fail(new Error('message too large'));
        return;
      }
      try {
        done(JSON.parse(buffered.slice(0, end)));
      } catch {
        fail(new Error('message is not JSON'));
      }
    };
    socket.on('data', onData);
    socket.once('end', () => done(undefined));
    socket.once('error', fail);
    socket.once('close', () => done(undefined));
  });
}
