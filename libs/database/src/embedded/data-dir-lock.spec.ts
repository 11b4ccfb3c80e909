import { mkdtempSync, rmSync, statSync, existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
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
