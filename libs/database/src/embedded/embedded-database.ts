import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { PGlite, types } from '@electric-sql/pglite';
import { createPglitePgDriver } from './pglite-pg-driver';
import { DataDirLock } from './data-dir-lock';

/** Parse values the way node-postgres does, so code behaves the same on both databases. */
const PG_COMPATIBLE_PARSERS = {
  [types.INT8]: (value: string) => value,
  [types.NUMERIC]: (value: string) => value,
};

export interface EmbeddedDatabase {
  db: PGlite;
  driver: ReturnType<typeof createPglitePgDriver>;
  /** The hold on DATA_DIR (none in memory); other processes reach this one through it. */
  lock?: DataDirLock;
}

/**
 * Opens (creating if needed) the embedded PostgreSQL in `dataDir`, or in memory for 'memory://'.
 * Throws DataDirInUseError when another process has it open. Closing the driver's pool closes
 * the database and lets the directory go.
 */
export async function openEmbeddedDatabase(dataDir: string): Promise<EmbeddedDatabase> {
  if (dataDir === 'memory://') {
    const db = await PGlite.create(dataDir, { parsers: PG_COMPATIBLE_PARSERS });
    return { db, driver: createPglitePgDriver(db) };
  }
  const location = ensureDir(dataDir);
  const lock = await DataDirLock.acquire(location);
  try {
    const db = await PGlite.create(location, { parsers: PG_COMPATIBLE_PARSERS });
    return { db, lock, driver: createPglitePgDriver(db, () => lock.release()) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

function ensureDir(dataDir: string): string {
  const absolute = resolve(dataDir);
  // Owner only: the database files and the lock socket are nobody else's business.
  mkdirSync(absolute, { recursive: true, mode: 0o700 });
  return absolute;
}
