import { SessionLock } from './session-lock';

describe('SessionLock (the embedded database session)', () => {
  it('hands the lock to waiters one at a time, in the order they asked', async () => {
    const lock = new SessionLock();
    const events: string[] = [];
    const holder = (name: string) =>
      lock.acquire().then(async (release) => {
        events.push(`${name} in`);
        await new Promise((resolve) => setTimeout(resolve, 5));
        events.push(`${name} out`);
        release();
      });

    await Promise.all([holder('a'), holder('b'), holder('c')]);

    expect(events).toEqual(['a in', 'a out', 'b in', 'b out', 'c in', 'c out']);
  });

  it('a release that is called twice releases once', async () => {
    const lock = new SessionLock();
    const first = await lock.acquire();
    const second = lock.acquire();
    const third = lock.acquire();
    let thirdHeld = false;
    void third.then(() => (thirdHeld = true));

    first();
    const releaseSecond = await second;
    first(); // a stale release of the first holder must not let the third in
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(thirdHeld).toBe(false);

    releaseSecond();
    await third;
    expect(thirdHeld).toBe(true);
  });

  it('lets the event loop run every slice of time, however long the queue keeps itself going', async () => {
    // Holders that keep the session 1 ms each (on a clock of the test's own, so that a loaded
    // machine cannot change the count) and queue again at once, as requests making their next
    // query do: handed over in microtasks only, this chain would run to its end before any I/O
    // or setImmediate callback.
    const sliceMs = 5;
    let clock = 1_000;
    const lock = new SessionLock(sliceMs, () => clock);
    const rounds = 100;
    let handovers = 0;
    let chainDone = false;
    const worker = async () => {
      for (let round = 0; round < rounds; round++) {
        const release = await lock.acquire();
        clock += 1; // a synchronous PGlite query
        handovers++;
        release();
      }
    };
    let loopTurns = 0;
    const tick = () => {
      if (chainDone) return;
      loopTurns++;
      setImmediate(tick);
    };
    setImmediate(tick);

    await Promise.all([worker(), worker()]);
    chainDone = true;

    // 200 ms of holding in 5 ms slices: the loop ran about once a slice, not once a handover.
    expect(handovers).toBe(2 * rounds);
    expect(loopTurns).toBeGreaterThanOrEqual(200 / sliceMs / 2);
    expect(loopTurns).toBeLessThan(handovers / 2);
  });

  it('keeps handing the lock on in a test that fakes timers', async () => {
    jest.useFakeTimers();
    try {
      const lock = new SessionLock(0); // every handover waits for the event loop
      const release = await lock.acquire();
      const next = lock.acquire();
      jest.advanceTimersByTime(60_000);
      release();
      await expect(next).resolves.toBeInstanceOf(Function);
    } finally {
      jest.useRealTimers();
    }
  });
});
