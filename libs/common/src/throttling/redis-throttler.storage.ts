import { createHash } from 'node:crypto';
import { Logger, type LoggerService, type OnApplicationShutdown } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Redis } from 'ioredis';
import { Clock, SystemClock } from '../clock/clock';

/** The record type is not re-exported from the package root, so derive it from the interface. */
type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

export const DEFAULT_THROTTLE_KEY_PREFIX = 'otp-link:throttle:';
/** Minimum gap between two "Redis unavailable" warnings, so an outage does not flood the logs. */
export const FAIL_OPEN_WARNING_INTERVAL_MS = 10_000;
const DEFAULT_TIMEOUT_MS = 500;

export interface RedisThrottlerStorageOptions {
  /** Namespace for every key this storage writes. Default `otp-link:throttle:`. */
  keyPrefix?: string;
  /**
   * Upper bound for one `increment` round trip. A Redis that accepts connections but never
   * answers must not stall requests; past this the call fails open. Default 500 ms.
   */
  timeoutMs?: number;
  logger?: Pick<LoggerService, 'warn'>;
  /** Paces the fail-open warning; injectable so tests need not wait 10 s. */
  clock?: Clock;
}

/*
 * One atomic script per call, so instances sharing this Redis cannot interleave a
 * read-modify-write. It mirrors ThrottlerStorageService.increment of @nestjs/throttler 6.7:
 * - ttl and blockDuration arrive in milliseconds; timeToExpire/timeToBlockExpire go back in
 *   whole seconds, rounded up.
 * - Hits form a sliding log: each hit expires ttl after it was made (sorted set scored by its
 *   expiry time), so totalHits counts the hits of the last ttl.
 * - The record (KEYS[1]) is shared by all throttler names of a key and holds a fixed window
 *   `expiresAt` (only feeds timeToExpire, i.e. the X-RateLimit-Reset header) and the block.
 * - blockDuration > 0: hits are recorded only while not blocked; the hit that takes totalHits
 *   above limit starts a block of blockDuration. Once that passes, the next call clears this
 *   throttler's hits and counts itself as hit 1.
 * - blockDuration <= 0 (only an explicit 0: ThrottlerGuard passes ttl when none is set): a
 *   call is refused while the live hits already reach limit and is then not recorded; it
 *   reports hits + 1 and the seconds until the oldest hit expires.
 * Time comes from Redis (TIME) so API instances with skewed clocks still agree.
 * Deviation: when not blocked, timeToBlockExpire is 0 (the in-memory storage returns a
 * meaningless non-positive number there; the guard reads it only when isBlocked).
 */
const INCREMENT_SCRIPT = `
local recordKey = KEYS[1]
local hitsKey = KEYS[2]
local ttl = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local blockDuration = tonumber(ARGV[3])

local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

local function seconds(ms)
  return math.ceil(ms / 1000)
end

local record = redis.call('HMGET', recordKey, 'expiresAt', 'blockExpiresAt', 'isBlocked')
local expiresAt = tonumber(record[1]) or (now + ttl)
local blockExpiresAt = tonumber(record[2]) or 0
local isBlocked = record[3] == '1'

redis.call('ZREMRANGEBYSCORE', hitsKey, '-inf', now)
local totalHits = redis.call('ZCARD', hitsKey)

local function fireHit()
  -- A per-record sequence keeps members unique even for hits in the same millisecond.
  local seq = redis.call('HINCRBY', recordKey, 'seq', 1)
  redis.call('ZADD', hitsKey, now + ttl, seq)
  totalHits = totalHits + 1
end

local timeToExpire = seconds(expiresAt - now)
if timeToExpire <= 0 then
  expiresAt = now + ttl
  timeToExpire = seconds(expiresAt - now)
end

local refused
local timeToBlockExpire = 0
local reportedHits

if blockDuration <= 0 then
  refused = totalHits >= limit
  if not refused then
    fireHit()
  end
  reportedHits = totalHits
  if refused then
    reportedHits = totalHits + 1
    local oldest = redis.call('ZRANGE', hitsKey, 0, 0, 'WITHSCORES')
    if oldest[2] then
      timeToBlockExpire = seconds(tonumber(oldest[2]) - now)
    else
      timeToBlockExpire = timeToExpire
    end
  end
else
  if not isBlocked then
    fireHit()
  end
  if totalHits > limit and not isBlocked then
    isBlocked = true
    blockExpiresAt = now + blockDuration
  end
  if isBlocked and blockExpiresAt <= now then
    isBlocked = false
    redis.call('DEL', hitsKey)
    totalHits = 0
    fireHit()
  end
  refused = isBlocked
  reportedHits = totalHits
  if isBlocked then
    timeToBlockExpire = seconds(blockExpiresAt - now)
  end
end

redis.call('HSET', recordKey, 'expiresAt', expiresAt, 'blockExpiresAt', blockExpiresAt,
  'isBlocked', isBlocked and '1' or '0')

-- Keys live exactly as long as they can still matter, so nothing is left behind.
local newest = redis.call('ZRANGE', hitsKey, -1, -1, 'WITHSCORES')
local lastHit = tonumber(newest[2]) or now
local recordUntil = math.max(expiresAt, lastHit)
if isBlocked then
  recordUntil = math.max(recordUntil, blockExpiresAt)
end
-- Hits of other throttler names may keep the shared record alive longer; never shorten it.
local remaining = redis.call('PTTL', recordKey)
if remaining > 0 then
  recordUntil = math.max(recordUntil, now + remaining)
end
redis.call('PEXPIREAT', recordKey, math.ceil(recordUntil))
redis.call('PEXPIREAT', hitsKey, math.ceil(lastHit))

return { reportedHits, timeToExpire, refused and 1 or 0, timeToBlockExpire }
`;
const INCREMENT_SCRIPT_SHA = createHash('sha1').update(INCREMENT_SCRIPT).digest('hex');

/**
 * ThrottlerStorage for @nestjs/throttler 6 kept in Redis, so every API instance shares one count.
 *
 * Redis unreachable, erroring or slower than `timeoutMs`: the call FAILS OPEN (the request is
 * allowed and not counted) and a warning is logged at most once per 10 s. Rate limiting is a
 * defence; an outage of its store must not take the API down with it.
 */
export class RedisThrottlerStorage implements ThrottlerStorage, OnApplicationShutdown {
  private readonly keyPrefix: string;
  private readonly timeoutMs: number;
  private readonly logger: Pick<LoggerService, 'warn'>;
  private readonly clock: Clock;
  private ownsClient = false;
  private lastWarningAt: number | undefined;
  private suppressedWarnings = 0;

  /** The caller owns `redis`: this storage never closes a client it was given. */
  constructor(
    private readonly redis: Redis,
    options: RedisThrottlerStorageOptions = {},
  ) {
    this.keyPrefix = options.keyPrefix ?? DEFAULT_THROTTLE_KEY_PREFIX;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.logger = options.logger ?? new Logger(RedisThrottlerStorage.name);
    this.clock = options.clock ?? new SystemClock();
  }

  /** Creates and owns its client; `close()` / application shutdown disconnects it. */
  static fromUrl(url: string, options: RedisThrottlerStorageOptions = {}): RedisThrottlerStorage {
    const redis = new Redis(url, {
      // Fail fast instead of queueing commands while disconnected: a throttle check that
      // waits for Redis would hold the request; reconnecting continues in the background.
      maxRetriesPerRequest: 1,
      enableOfflineQueue: false,
      lazyConnect: false,
      connectTimeout: 2_000,
    });
    const storage = new RedisThrottlerStorage(redis, options);
    storage.ownsClient = true;
    // Without a listener ioredis prints every failed reconnect attempt to stderr.
    redis.on('error', (error: unknown) => storage.warnFailOpen(error));
    return storage;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    // Hash tag: both keys land in one slot, as a script requires under Redis Cluster.
    const recordKey = `${this.keyPrefix}{${key}}`;
    const hitsKey = `${recordKey}:hits:${throttlerName}`;
    try {
      const reply = await this.withTimeout(
        this.runScript([recordKey, hitsKey], [ttl, limit, blockDuration]),
      );
      return toRecord(reply);
    } catch (error) {
      this.warnFailOpen(error);
      return {
        totalHits: 0,
        timeToExpire: Math.ceil(ttl / 1000),
        isBlocked: false,
        timeToBlockExpire: 0,
      };
    }
  }

  /** Disconnects the client if this storage created it (`fromUrl`); otherwise does nothing. */
  async close(): Promise<void> {
    if (!this.ownsClient || this.redis.status === 'end') {
      return;
    }
    if (this.redis.status !== 'ready') {
      this.redis.disconnect();
      return;
    }
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.close();
  }

  private async runScript(keys: string[], args: number[]): Promise<unknown> {
    try {
      return await this.redis.evalsha(INCREMENT_SCRIPT_SHA, keys.length, ...keys, ...args);
    } catch (error) {
      // First call on this server, or its script cache was flushed: send the source once.
      if (error instanceof Error && error.message.startsWith('NOSCRIPT')) {
        return this.redis.eval(INCREMENT_SCRIPT, keys.length, ...keys, ...args);
      }
      throw error;
    }
  }

  private withTimeout<T>(promise: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`Redis did not answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
    });
    return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
  }

  private warnFailOpen(error: unknown): void {
    const now = this.clock.now().getTime();
    if (
      this.lastWarningAt !== undefined &&
      now - this.lastWarningAt < FAIL_OPEN_WARNING_INTERVAL_MS
    ) {
      this.suppressedWarnings += 1;
      return;
    }
    const reason = error instanceof Error ? error.message : String(error);
    const suppressed =
      this.suppressedWarnings > 0 ? ` (${this.suppressedWarnings} similar since last warning)` : '';
    this.logger.warn(
      `Rate-limit storage unavailable, allowing requests without counting: ${reason}${suppressed}`,
    );
    this.lastWarningAt = now;
    this.suppressedWarnings = 0;
  }
}

function toRecord(reply: unknown): ThrottlerStorageRecord {
  if (
    !Array.isArray(reply) ||
    reply.length !== 4 ||
    !reply.every((value): value is number => typeof value === 'number')
  ) {
    throw new Error(`Unexpected throttle script reply: ${JSON.stringify(reply)}`);
  }
  const [totalHits, timeToExpire, isBlocked, timeToBlockExpire] = reply;
  return { totalHits, timeToExpire, isBlocked: isBlocked === 1, timeToBlockExpire };
}
