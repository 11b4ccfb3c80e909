import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createDataSource } from '@app/database';
import { SCHEMA } from '@app/migrations';

/** The PostgreSQL server the chaos suite creates its databases on (never stopped or restarted). */
export const CHAOS_PG_URL =
  process.env.CHAOS_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export interface ChaosDatabase {
  name: string;
  /** URL of the database on the real server. */
  url: string;
  /** The same database reached through another host and port (e.g. a TcpProxy). */
  urlVia(host: string, port: number): string;
  /** A query straight to the real server (never through a proxy). */
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

/** A fresh, migrated PostgreSQL database named otp_link_chaos_<pid>_<random>. */
export async function createChaosDatabase(): Promise<ChaosDatabase> {
  const name = `otp_link_chaos_${process.pid}_${randomBytes(4).toString('hex')}`;
  await adminQuery(`CREATE DATABASE "${name}"`);
  const url = withDatabase(CHAOS_PG_URL, name);
  const migrator = createDataSource(
    { url, dataDir: '', poolSize: 1 },
    SCHEMA,
    undefined,
    'migrations',
  );
  await migrator.initialize();
  try {
    await migrator.runMigrations();
  } finally {
    await migrator.destroy();
  }
  const pool = new Pool({ connectionString: url, max: 2 });
  pool.on('error', () => undefined);
  return {
    name,
    url,
    urlVia: (host, port) => {
      const via = new URL(url);
      via.hostname = host;
      via.port = String(port);
      return via.toString();
    },
    query: async <T>(sql: string, params: unknown[] = []) =>
      (await pool.query(sql, params)).rows as T[],
    drop: async () => {
      await pool.end();
      await adminQuery(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    },
  };
}

function withDatabase(serverUrl: string, database: string): string {
  const url = new URL(serverUrl);
  url.pathname = `/${database}`;
  return url.toString();
}

async function adminQuery(sql: string): Promise<void> {
  const client = new Client({ connectionString: CHAOS_PG_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
