import { mkdtempSync, rmSync, statSync, existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { askDataDirHolder, DataDirInUseError, DataDirLock, isDataDirHeld } from './data-dir-lock';

describe('DataDirLock', () => {
  let dir: string;
  const held: DataDirLock[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'otp-link-lock-'));
  });

  afterEach(async () => {
    for (const lock of held.splice(0)) await lock.release();
    rmSync(dir, { recursive: true, force: true });
  });

  const acquire = async (path = dir) => {
    const lock = await DataDirLock.acquire(path);
    held.push(lock);
    return lock;
  };

  it('lets one holder at a time have the directory, and the next one after release', async () => {
    const first = await acquire();
    expect(await isDataDirHeld(dir)).toBe(true);
    await expect(DataDirLock.acquire(dir)).rejects.toBeInstanceOf(DataDirInUseError);
    expect(statSync(join(dir, 'otp-link.sock')).mode & 0o777).toBe(0o600);

    await first.release();
    held.splice(held.indexOf(first), 1);
    expect(existsSync(join(dir, 'otp-link.sock'))).toBe(false);
    expect(await isDataDirHeld(dir)).toBe(false);
    await acquire();
  });

  it('takes over the socket a killed holder left behind', async () => {
    // A process listening on the socket, then SIGKILLed: its socket file stays.
    const path = join(dir, 'otp-link.sock');
    const holder = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`,
    ]);
    await new Promise<void>((done) => holder.stdout.once('data', () => done()));
    expect(await isDataDirHeld(dir)).toBe(true);
    holder.kill('SIGKILL');
    await new Promise((done) => holder.once('exit', done));
    expect(existsSync(path)).toBe(true);
    expect(await isDataDirHeld(dir)).toBe(false);

    await acquire();
    expect(await isDataDirHeld(dir)).toBe(true);
  });

  it('of two takeovers of one dead socket at once, exactly one gets the directory', async () => {
    // Whatever answers nobody counts as dead: here a plain file where the socket would be.
    writeFileSync(join(dir, 'otp-link.sock'), '');
    const results = await Promise.allSettled([DataDirLock.acquire(dir), DataDirLock.acquire(dir)]);
    for (const result of results) if (result.status === 'fulfilled') held.push(result.value);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const refused = results.find((result) => result.status === 'rejected');
    expect((refused as PromiseRejectedResult).reason).toBeInstanceOf(DataDirInUseError);
    expect(await isDataDirHeld(dir)).toBe(true);
    expect(existsSync(join(dir, 'otp-link.takeover'))).toBe(false);
  });

  it('releases even while a peer stays connected without a word', async () => {
    const lock = await acquire();
    const idle = createConnection(join(dir, 'otp-link.sock'));
    await new Promise((done) => idle.once('connect', done));
    const closedByHolder = new Promise((done) => idle.once('close', done));
    await lock.release();
    held.splice(held.indexOf(lock), 1);
    await closedByHolder;
    expect(await isDataDirHeld(dir)).toBe(false);
  });

  it('hangs up on a request larger than 1 MiB', async () => {
    const lock = await acquire();
    lock.serve(async () => ({ ok: true }));
    const peer = createConnection(join(dir, 'otp-link.sock'));
    peer.on('error', () => undefined); // the holder may reset the connection mid-write
    await new Promise((done) => peer.once('connect', done));
    const closed = new Promise((done) => peer.once('close', done));
    let answered = '';
    peer.on('data', (chunk: Buffer) => (answered += chunk.toString()));
    peer.write('x'.repeat(1024 * 1024 + 16));
    await closed;
    expect(answered).toBe('');
    // The holder still answers the next one.
    expect(await askDataDirHolder(dir, {}, 2_000)).toEqual({ ok: true });
  });

  it('passes requests to the holder and its answers back', async () => {
    const lock = await acquire();
    expect(await askDataDirHolder(dir, { argv: ['x'] }, 2_000)).toEqual({
      error: 'busy: the process holding the database takes no requests',
    });
    lock.serve(async (request) => ({ echo: request }));
    expect(await askDataDirHolder(dir, { argv: ['clients:list'] }, 2_000)).toEqual({
      echo: { argv: ['clients:list'] },
    });
    lock.serve(async () => {
      throw new Error('it broke');
    });
    expect(await askDataDirHolder(dir, {}, 2_000)).toEqual({ error: 'it broke' });
  });

  it('gives up on a holder that does not answer in time', async () => {
    const lock = await acquire();
    lock.serve(() => new Promise(() => undefined));
    await expect(askDataDirHolder(dir, {}, 200)).rejects.toThrow('no answer from the holder');
  });

  it('refuses a directory whose socket path would be too long', async () => {
    const deep = join(dir, 'd'.repeat(100));
    await expect(DataDirLock.acquire(deep)).rejects.toThrow('too long a path');
  });
});
