import { Logger } from '@nestjs/common';
import { BackgroundLoop } from './background-loop';

describe('BackgroundLoop', () => {
  // The failing-tick test logs a warning on purpose; keep the test output clean.
  beforeAll(() => {
    Logger.overrideLogger(false);
  });
  afterAll(() => {
    Logger.overrideLogger(['log', 'error', 'warn', 'debug', 'verbose']);
  });

  it('ticks on its interval, at once while there is more work, and stops cleanly', async () => {
    const calls: number[] = [];
    let remaining = 3;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const loop = new BackgroundLoop('test', 5, async () => {
      calls.push(Date.now());
      if (calls.length === 5) resolveDone();
      return --remaining > 0;
    });
    loop.start();
    await done;
    await loop.stop();
    const count = calls.length;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(calls.length).toBe(count); // nothing after stop
    expect(count).toBeGreaterThanOrEqual(5);
  });

  it('survives a failing tick and tries again', async () => {
    let attempts = 0;
    let resolveDone!: () => void;
    const done = new Promise<void>((resolve) => (resolveDone = resolve));
    const loop = new BackgroundLoop('test', 1, async () => {
      attempts++;
      if (attempts < 3) throw new Error('database down');
      resolveDone();
      return false;
    });
    loop.start();
    await done;
    await loop.stop();
    expect(attempts).toBe(3);
  });

  it('stop waits for the running tick', async () => {
    let finished = false;
    let started!: () => void;
    const isRunning = new Promise<void>((resolve) => (started = resolve));
    const loop = new BackgroundLoop('test', 1, async () => {
      started();
      await new Promise((resolve) => setTimeout(resolve, 50));
      finished = true;
      return false;
    });
    loop.start();
    await isRunning;
    await loop.stop();
    expect(finished).toBe(true);
  });
});
