import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import type { DataSource, QueryRunner } from 'typeorm';
import { createDataSource, openEmbeddedDatabase, type DataSourcePurpose } from '@app/database';
import { SCHEMA } from '@app/migrations';

/**
 * Which database this Jest project runs the e2e suite on: 'embedded', or a PostgreSQL server
 * URL (set in jest.config.js from TEST_DATABASE_URL / DATABASE_URL).
 */
export function e2eDatabase(): string {
  const value = (globalThis as { E2E_DATABASE?: string }).E2E_DATABASE;
  return value ?? 'embedded';
}

export interface TestDatabase {
  /** Environment for the app: DATABASE_URL, or DATA_DIR for the embedded database. */
  env: Record<string, string>;
  drop(): Promise<void>;
}

/** A fresh, migrated database for one test file: in-memory PGlite, or a new PostgreSQL database. */
export async function createTestDatabase(
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const target = e2eDatabase();
  if (target === 'embedded') {
    return { env: { DATA_DIR: 'memory://' }, drop: async () => undefined };
  }
  const name = `otp_link_test_${process.pid}_${randomBytes(4).toString('hex')}`;
  await ensureDatabase(target);
  await adminQuery(target, `CREATE DATABASE "${name}"`);
  const url = withDatabase(target, name);
  const drop = () => adminQuery(target, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  if (options.migrate === false) return { env: { DATABASE_URL: url }, drop };
  const migrator = createDataSource(
    { url, dataDir: '', poolSize: 1 },
    SCHEMA,
    undefined,
    'migrations',
  );
  await migrator.initialize();
  await migrator.runMigrations();
  await migrator.destroy();
  return { env: { DATABASE_URL: url }, drop };
}

/**
 * A data source on a fresh, migrated database (createTestDatabase's), and how to close it and
 * drop the database. The embedded database lends one session whatever `poolSize` asks;
 * `purpose` 'migrations' drops the request timeouts (PostgreSQL), for tests that run migrations.
 */
export async function openTestDataSource(
  poolSize: number,
  purpose: DataSourcePurpose = 'app',
): Promise<{ dataSource: DataSource; close: () => Promise<void> }> {
  if (e2eDatabase() === 'embedded') {
    const embedded = await openEmbeddedDatabase('memory://');
    const dataSource = createDataSource(
      { dataDir: 'memory://', poolSize: 1 },
      SCHEMA,
      embedded.driver,
    );
    await dataSource.initialize();
    return { dataSource, close: () => dataSource.destroy() };
  }
  const database = await createTestDatabase();
  const dataSource = createDataSource(
    { url: database.env.DATABASE_URL, dataDir: '', poolSize },
    SCHEMA,
    undefined,
    purpose,
  );
  await dataSource.initialize();
  return {
    dataSource,
    close: async () => {
      await dataSource.destroy();
      await database.drop();
    },
  };
}

/** Work on a session of its own, released after: the embedded database has one to lend. */
export async function onRunner<T>(
  dataSource: DataSource,
  work: (runner: QueryRunner) => Promise<T>,
): Promise<T> {
  const runner = dataSource.createQueryRunner();
  try {
    return await work(runner);
  } finally {
    await runner.release();
  }
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function adminQuery(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/**
 * Makes sure the database a URL names exists (TEST_DATABASE_URL's, where the suites create their
 * own): created from the server's `postgres` database when missing, or an error saying which
 * `createdb` to run.
 */
export async function ensureDatabase(serverUrl: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  try {
    await client.connect();
    return;
  } catch (error) {
    if ((error as { code?: string }).code !== '3D000') throw error; // not "database does not exist"
  } finally {
    await client.end().catch(() => undefined);
  }
  const url = new URL(serverUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  try {
    await adminQuery(
      withDatabase(serverUrl, 'postgres'),
      `CREATE DATABASE "${name.replace(/"/g, '""')}"`,
    );
  } catch (error) {
    // Created meanwhile by another test file: fine.
    if ((error as { code?: string }).code === '42P04') return;
    const flags = [
      `-h ${url.hostname || '127.0.0.1'}`,
      `-p ${url.port || '5432'}`,
      ...(url.username ? [`-U ${decodeURIComponent(url.username)}`] : []),
    ].join(' ');
    throw new Error(
      `database "${name}" does not exist and could not be created (${(error as Error).message}): ` +
        `run createdb ${flags} ${name}`,
    );
  }
}
