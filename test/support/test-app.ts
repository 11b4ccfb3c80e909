import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DataSource } from 'typeorm';
import { AppConfig, loadConfig } from '@app/config';
import { createLogger } from '@app/common';
import { createApp } from '../../apps/api/src/bootstrap';
import { MovableClock } from './movable-clock';
import { createTestDatabase, TestDatabase } from './test-database';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  /** Base URL of the app listening on loopback, e.g. http://127.0.0.1:41234 */
  url: string;
  clock: MovableClock;
  /** Every log line the app wrote, raw. */
  logs: string[];
  dataSource: DataSource;
  /** Where the file notify driver writes (the default driver in tests). */
  messagesFile: string;
  /** The database it runs on; `startTestApp(env, { database })` starts another app on it. */
  database: TestDatabase;
  close(): Promise<void>;
}

export interface TestAppOptions {
  /**
   * Run on this database (another app's `database`) instead of a fresh one, e.g. for a second
   * instance; `close()` then leaves the database to the app that created it. PostgreSQL only:
   * the embedded database lives inside one app.
   */
  database?: TestDatabase;
}

/** Fast, quiet defaults for tests; a test overrides what it is about. */
const TEST_ENV: Record<string, string> = {
  NODE_ENV: 'test',
  LOG_LEVEL: 'info',
  NOTIFY_DRIVER: 'file',
  HTTP_RATE_LIMIT_PER_MINUTE: '100000',
};

/** Boots the real HTTP app on a fresh database (embedded or PostgreSQL, per Jest project). */
export async function startTestApp(
  env: Record<string, string> = {},
  options: TestAppOptions = {},
): Promise<TestApp> {
  const ownsDatabase = options.database === undefined;
  if (options.database && !options.database.env.DATABASE_URL) {
    throw new Error('apps cannot share the embedded database: it lives inside one app');
  }
  const database: TestDatabase = options.database ?? (await createTestDatabase());
  const scratch = mkdtempSync(join(tmpdir(), 'otp-link-test-'));
  const messagesFile = join(scratch, 'messages.jsonl');
  const config = loadConfig({ ...TEST_ENV, NOTIFY_FILE: messagesFile, ...database.env, ...env });
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  const clock = new MovableClock();
  const app = await createApp(config, createLogger(config.logLevel, sink), clock);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.getHttpServer().address();
  if (!address || typeof address === 'string') throw new Error('app is not listening on TCP');
  return {
    app,
    config,
    url: `http://127.0.0.1:${address.port}`,
    clock,
    logs,
    dataSource: app.get(DataSource),
    messagesFile,
    database,
    close: async () => {
      try {
        await app.close();
      } finally {
        // Even when closing failed (a test may have torn the database connection down itself).
        if (ownsDatabase) await database.drop();
        rmSync(scratch, { recursive: true, force: true });
      }
    },
  };
}
