import { randomUUID } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { ThrottlerStorageService } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { Clock } from '../clock/clock';
import {
  RedisThrottlerStorage,
  type RedisThrottlerStorageOptions,
} from './redis-throttler.storage';

type ThrottlerStorageRecord = Awaited<ReturnType<RedisThrottlerStorage['increment']>>;

// Runs against a real Redis (CI provides one): counting, blocking and atomicity are the
// script's job, so a fake would test nothing.
/**
 * These tests need a real Redis: they run when REDIS_URL_FOR_TESTS names one (CI sets it, like
 * TEST_DATABASE_URL for PostgreSQL), so `npm test` still passes on a machine without Redis.
 */
const REDIS_URL = process.env.REDIS_URL_FOR_TESTS ?? '';
const describeWithRedis = REDIS_URL ? describe : describe.skip;
const RUN_PREFIX = `otp-link:throttle-test:${randomUUID()}:`;
const MINUTE = 60_000;

class FakeClock extends Clock {
  constructor(public ms = 0) {
    super();
  }
  now(): Date {
    return new Date(this.ms);
  }
}

function fakeLogger(): { warn: jest.Mock } {
  return { warn: jest.fn() };
}

async function connect(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, {
    lazyConnect: true,
    connectTimeout: 2_000,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  // connect() only rejects with "Connection is closed"; the cause arrives as an event.
  let cause: unknown;
  redis.on('error', (error) => (cause = error));
  try {
    await redis.connect();
    await redis.ping();
  } catch (error) {
    redis.disconnect();
    throw new Error(
      `Redis is not reachable at ${REDIS_URL} (${String(cause ?? error)}). These tests need a real ` +
        'Redis: start one or set REDIS_URL_FOR_TESTS.',
    );
  }
  return redis;
}

/** A client that cannot reach Redis and does not retry, for the fail-open paths. */
function unreachableClient(): Redis {
  const redis = new Redis({
    host: '127.0.0.1',
    port: 1,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    retryStrategy: () => null,
  });
  redis.on('error', () => undefined);
  return redis;
}

describeWithRedis('RedisThrottlerStorage', () => {
  let redisA: Redis;
  let redisB: Redis;
  let storageA: RedisThrottlerStorage;
  let storageB: RedisThrottlerStorage;
  const options: RedisThrottlerStorageOptions = { keyPrefix: RUN_PREFIX, logger: fakeLogger() };

  beforeAll(async () => {
    // Two connections stand in for two API instances.
    redisA = await connect();
    redisB = await connect();
    storageA = new RedisThrottlerStorage(redisA, options);
    storageB = new RedisThrottlerStorage(redisB, options);
  });

  afterAll(async () => {
    if (!redisA) {
      return;
    }
    const keys: string[] = [];
    for await (const batch of redisA.scanStream({ match: `${RUN_PREFIX}*`, count: 500 })) {
      keys.push(...(batch as string[]));
    }
    if (keys.length > 0) {
      await redisA.del(...keys);
    }
    await redisA.quit();
    await redisB?.quit();
  });

  const newKey = (): string => randomUUID();

  it('counts hits and reports a sane timeToExpire in seconds', async () => {
    const key = newKey();
    const records: ThrottlerStorageRecord[] = [];
    for (let i = 0; i < 3; i++) {
      records.push(await storageA.increment(key, MINUTE, 5, MINUTE, 'default'));
    }

    expect(records.map((r) => r.totalHits)).toEqual([1, 2, 3]);
    for (const record of records) {
      expect(record.isBlocked).toBe(false);
      expect(record.timeToBlockExpire).toBe(0);
      expect(record.timeToExpire).toBeGreaterThan(55);
      expect(record.timeToExpire).toBeLessThanOrEqual(60);
    }
  });

  it('blocks the (limit + 1)-th hit for blockDuration and stops counting while blocked', async () => {
    const key = newKey();
    for (let i = 1; i <= 3; i++) {
      expect(await storageA.increment(key, MINUTE, 3, 30_000, 'default')).toMatchObject({
        totalHits: i,
        isBlocked: false,
      });
    }

    const blocked = await storageA.increment(key, MINUTE, 3, 30_000, 'default');
    expect(blocked.isBlocked).toBe(true);
    expect(blocked.totalHits).toBe(4);
    expect(blocked.timeToBlockExpire).toBeGreaterThan(25);
    expect(blocked.timeToBlockExpire).toBeLessThanOrEqual(30);

    // The other instance sees the same block.
    expect(await storageB.increment(key, MINUTE, 3, 30_000, 'default')).toMatchObject({
      totalHits: 4,
      isBlocked: true,
    });
  });

  it('keeps hit counts of different throttler names apart', async () => {
    const key = newKey();
    await storageA.increment(key, MINUTE, 10, MINUTE, 'short');
    await storageA.increment(key, MINUTE, 10, MINUTE, 'short');
    expect((await storageA.increment(key, MINUTE, 10, MINUTE, 'long')).totalHits).toBe(1);
  });

  it.each([
    ['blocking (blockDuration > 0)', 2, 30_000, 6],
    ['non-blocking (blockDuration 0)', 2, 0, 6],
    ['limit 0', 0, 30_000, 3],
    ['limit 0 without block', 0, 0, 3],
    ['unlimited', Infinity, 0, 3],
  ])(
    'returns what the in-memory ThrottlerStorageService returns: %s',
    async (_case, limit, blockDuration, calls) => {
      const memory = new ThrottlerStorageService();
      const key = newKey();
      try {
        for (let i = 0; i < calls; i++) {
          const expected = await memory.increment(key, MINUTE, limit, blockDuration, 'default');
          const actual = await storageA.increment(key, MINUTE, limit, blockDuration, 'default');
          expect(actual).toEqual({
            ...expected,
            // Documented deviation: 0 instead of a meaningless non-positive number.
            timeToBlockExpire: expected.isBlocked ? expected.timeToBlockExpire : 0,
          });
        }
      } finally {
        memory.onApplicationShutdown();
      }
    },
  );

  it('shares one count across instances, atomically under 50 concurrent increments', async () => {
    const key = newKey();
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? storageA : storageB).increment(key, MINUTE, 1_000, MINUTE, 'default'),
      ),
    );

    const hits = records.map((r) => r.totalHits).sort((a, b) => a - b);
    expect(hits).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(records.every((r) => !r.isBlocked)).toBe(true);
  });

  it('lets exactly `limit` of many concurrent hits through', async () => {
    const key = newKey();
    const records = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        (i % 2 === 0 ? storageA : storageB).increment(key, MINUTE, 10, MINUTE, 'default'),
      ),
    );

    expect(records.filter((r) => !r.isBlocked)).toHaveLength(10);
  });

  it('forgets hits and lifts blocks once ttl / blockDuration pass, leaving no keys', async () => {
    const ttl = 300;
    const counted = newKey();
    const blocked = newKey();
    for (let i = 0; i < 3; i++) {
      await storageA.increment(counted, ttl, 100, ttl, 'default');
    }
    await storageA.increment(blocked, ttl, 1, ttl, 'default');
    expect(await storageA.increment(blocked, ttl, 1, ttl, 'default')).toMatchObject({
      isBlocked: true,
    });
    const pttl = await redisA.pttl(`${RUN_PREFIX}{${counted}}`);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(ttl);

    // Redis keeps its own time, so this one short wait cannot be replaced by a fake clock.
    await new Promise((resolve) => setTimeout(resolve, ttl + 100));

    expect(await redisA.exists(`${RUN_PREFIX}{${counted}}`)).toBe(0);
    expect(await storageB.increment(counted, ttl, 100, ttl, 'default')).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
    expect(await storageB.increment(blocked, ttl, 1, ttl, 'default')).toMatchObject({
      totalHits: 1,
      isBlocked: false,
    });
  });

  it('falls back to EVAL when Redis does not know the script (NOSCRIPT)', async () => {
    // Simulated rather than SCRIPT FLUSH, which would touch every client of a shared Redis.
    const evalsha = jest
      .spyOn(redisA, 'evalsha')
      .mockRejectedValueOnce(new Error('NOSCRIPT No matching script. Please use EVAL.'));
    const evalSpy = jest.spyOn(redisA, 'eval');
    try {
      const record = await storageA.increment(newKey(), MINUTE, 5, MINUTE, 'default');
      expect(record.totalHits).toBe(1);
      expect(evalSpy).toHaveBeenCalledTimes(1);
    } finally {
      evalsha.mockRestore();
      evalSpy.mockRestore();
    }
  });

  it('does not close a client it was given', async () => {
    const own = await connect();
    try {
      await new RedisThrottlerStorage(own, options).onApplicationShutdown();
      expect(own.status).toBe('ready');
    } finally {
      await own.quit();
    }
  });

  describe('when Redis is unavailable (fails open)', () => {
    it('allows the request quickly when nothing listens on the port', async () => {
      const logger = fakeLogger();
      const storage = RedisThrottlerStorage.fromUrl('redis://127.0.0.1:1', { logger });
      try {
        const started = Date.now();
        const record = await storage.increment(newKey(), MINUTE, 1, MINUTE, 'default');
        const second = await storage.increment(newKey(), MINUTE, 1, MINUTE, 'default');

        expect(Date.now() - started).toBeLessThan(1_000);
        expect(record).toEqual({
          totalHits: 0,
          timeToExpire: 60,
          isBlocked: false,
          timeToBlockExpire: 0,
        });
        expect(second.isBlocked).toBe(false);
        expect(logger.warn).toHaveBeenCalledTimes(1);
        expect(logger.warn).toHaveBeenCalledWith(
          expect.stringContaining('Rate-limit storage unavailable'),
        );
      } finally {
        await storage.close();
      }
    });

    it('times out when Redis accepts the connection but never answers', async () => {
      const sockets = new Set<Socket>();
      const silent: Server = createServer((socket) => {
        sockets.add(socket);
        socket.on('close', () => sockets.delete(socket));
      });
      await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
      const { port } = silent.address() as { port: number };
      // Default ioredis options queue commands until connected: the storage's own timeout
      // is what keeps the request from hanging.
      const redis = new Redis({
        host: '127.0.0.1',
        port,
        retryStrategy: () => null,
        // ioredis otherwise keeps a 2 s timer alive after disconnect from a silent peer.
        disconnectTimeout: 50,
      });
      redis.on('error', () => undefined);
      const logger = fakeLogger();
      try {
        const storage = new RedisThrottlerStorage(redis, { logger, timeoutMs: 200 });
        const started = Date.now();
        const record = await storage.increment(newKey(), MINUTE, 1, MINUTE, 'default');

        expect(Date.now() - started).toBeLessThan(1_000);
        expect(record.isBlocked).toBe(false);
        expect(logger.warn).toHaveBeenCalledWith(expect.stringContaining('did not answer'));
      } finally {
        redis.disconnect();
        sockets.forEach((socket) => socket.destroy());
        await new Promise((resolve) => silent.close(resolve));
      }
    });

    it('warns at most once per 10 s and reports how many failures it held back', async () => {
      const clock = new FakeClock(1_000_000);
      const logger = fakeLogger();
      const redis = unreachableClient();
      const storage = new RedisThrottlerStorage(redis, { logger, clock });
      const hit = () => storage.increment(newKey(), MINUTE, 1, MINUTE, 'default');
      try {
        await hit();
        clock.ms += 5_000;
        await hit();
        clock.ms += 4_999;
        await hit();
        expect(logger.warn).toHaveBeenCalledTimes(1);

        clock.ms += 1;
        await hit();
        expect(logger.warn).toHaveBeenCalledTimes(2);
        expect(logger.warn).toHaveBeenLastCalledWith(
          expect.stringContaining('(2 similar since last warning)'),
        );
      } finally {
        redis.disconnect();
      }
    });
  });
});
