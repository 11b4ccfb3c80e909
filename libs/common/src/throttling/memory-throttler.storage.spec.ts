import { MemoryThrottlerStorage } from './memory-throttler.storage';

describe('MemoryThrottlerStorage', () => {
  let now = 1_000_000;
  const storage = new MemoryThrottlerStorage(() => now);
  afterAll(() => storage.onModuleDestroy());

  it('counts hits per key within the window and blocks past the limit until it ends', async () => {
    const hits = [];
    for (let i = 0; i < 4; i++) hits.push(await storage.increment('a', 60_000, 3));
    expect(hits.map((h) => [h.totalHits, h.isBlocked])).toEqual([
      [1, false],
      [2, false],
      [3, false],
      [4, true],
    ]);
    expect(hits[3].timeToBlockExpire).toBe(60);
    expect((await storage.increment('b', 60_000, 3)).totalHits).toBe(1); // keys are apart

    now += 45_000;
    expect(await storage.increment('a', 60_000, 3)).toMatchObject({
      isBlocked: true,
      timeToBlockExpire: 15,
    });
    now += 15_000;
    expect(await storage.increment('a', 60_000, 3)).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });
});
