import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { createPglitePgDriver } from './pglite-pg-driver';

/** Parse values the way node-postgres does, so code behaves the same on both databases. */
const PG_COMPATIBLE_PARSERS = {
  [types.INT8]: (value: string) => value,
  [types.NUMERIC]: (value: string) => value,
};

export interface EmbeddedDatabase {
  db: PGlite;
  driver: ReturnType<typeof createPglitePgDriver>;
}

/** Opens (creating if needed) the embedded PostgreSQL in `dataDir`, or in memory for 'memory://'. */
export async function openEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  const location = dataDir === 'memory://' ? dataDir : ensureDir(dataDir);
  const db = await PGlite.create(location, { parsers: PG_COMPATIBLE_PARSERS });
  return { db, driver: createPglitePgDriver(db) };
}

function ensureDir(dataDir: string): string {
  const absolute = resolve(dataDir);
  mkdirSync(absolute, { recursive: true });
  return absolute;
}
