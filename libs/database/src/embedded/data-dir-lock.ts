import { chmodSync, unlinkSync } from 'node:fs';
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

  private constructor() {}

  static async acquire(dataDir: string): Promise<DataDirLock> {
    const path = socketPath(dataDir);
    const lock = new DataDirLock();
    try {
      await listen(lock.server, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
      if (await isAnswering(path)) throw new DataDirInUseError(dataDir);
      unlinkSync(path); // left by a process that died
      await listen(lock.server, path);
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
    await new Promise<void>((done) => this.server.close(() => done()));
    // net.Server removes its unix socket file on close; a pipe on Windows has none.
  }

  private answer(socket: Socket): void {
    readMessage(socket).then(
      async (request) => {
        if (request === undefined) return; // a liveness probe: connected and left
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
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      if (buffered.length > MAX_MESSAGE_BYTES) {
        fail(new Error('message too large'));
        return;
      }
      const end = buffered.indexOf('\n');
      if (end >= 0) {
        try {
          done(JSON.parse(buffered.slice(0, end)));
        } catch {
          fail(new Error('message is not JSON'));
        }
      }
    });
    socket.once('end', () => done(undefined));
    socket.once('error', fail);
    socket.once('close', () => done(undefined));
  });
}
