import type { QueryRunner } from 'typeorm';
import type { SqlFunctionFile } from './sql-function-file';

/** Where the migration runner records the checksum of each function it applied. */
export const FUNCTIONS_TABLE = 'schema_functions';
const CREATE_FUNCTION = /\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\b/i;
/** Several processes migrating at once take turns on this advisory lock. */
const FUNCTIONS_LOCK = 7_630_001;

interface AppliedRow {
  name: string;
  checksum: string;
}

/** What applying `files` would change: functions to (re)create and functions to drop. */
export interface FunctionChanges {
  apply: SqlFunctionFile[];
  drop: string[];
}

/**
 * The changes between `files` and what the database has applied. None while the table that
 * records them does not exist: the versioned migration that makes it (and the schema the
 * functions read) has not run, or was reverted.
 */
export async function pendingFunctionChanges(
  runner: QueryRunner,
  files: SqlFunctionFile[],
): Promise<FunctionChanges> {
  if (!(await runner.hasTable(FUNCTIONS_TABLE))) return { apply: [], drop: [] };
  const rows = (await runner.query(
    `SELECT name, checksum FROM ${FUNCTIONS_TABLE}`,
  )) as AppliedRow[];
  const applied = new Map(rows.map((row) => [row.name, row.checksum]));
  const wanted = new Set(files.map((file) => file.name));
  return {
    apply: files.filter((file) => applied.get(file.name) !== file.checksum),
    drop: rows.map((row) => row.name).filter((name) => !wanted.has(name)),
  };
}

/**
 * Brings the database's functions in line with their `.sql` files, in one transaction: a
 * function whose file changed is dropped (every overload: its arguments may have changed) and
 * created from the file; a function whose file is gone is dropped. The functions are created
 * without checking their bodies (check_function_bodies off, as pg_dump does), so the files' order
 * does not matter, then replaced once more with the checks on: a body that does not parse fails
 * the migration instead of its first call (so does a name that does not exist, in LANGUAGE sql
 * bodies; plpgsql resolves names only when it runs). Returns the names of the functions it
 * created.
 */
export async function applyFunctionChanges(
  runner: QueryRunner,
  files: SqlFunctionFile[],
): Promise<string[]> {
  const ownTransaction = !runner.isTransactionActive;
  if (ownTransaction) await runner.startTransaction();
  try {
    await runner.query(`SELECT pg_advisory_xact_lock(${FUNCTIONS_LOCK})`);
    const changes = await pendingFunctionChanges(runner, files);
    await runner.query(`SET LOCAL check_function_bodies = off`);
    for (const name of [...changes.drop, ...changes.apply.map((file) => file.name)]) {
      await dropFunction(runner, name);
    }
    for (const name of changes.drop) {
      await runner.query(`DELETE FROM ${FUNCTIONS_TABLE} WHERE name = $1`, [name]);
    }
    for (const file of changes.apply) await runner.query(file.sql);
    await runner.query(`SET LOCAL check_function_bodies = on`);
    for (const file of changes.apply) {
      await runner.query(file.sql.replace(CREATE_FUNCTION, 'CREATE OR REPLACE FUNCTION'));
      await runner.query(
        `INSERT INTO ${FUNCTIONS_TABLE} (name, checksum, applied_at) VALUES ($1, $2, now())
         ON CONFLICT (name) DO UPDATE SET checksum = EXCLUDED.checksum, applied_at = now()`,
        [file.name, file.checksum],
      );
    }
    if (ownTransaction) await runner.commitTransaction();
    return changes.apply.map((file) => file.name);
  } catch (error) {
    if (ownTransaction) await runner.rollbackTransaction();
    throw error;
  }
}

/** Drops every function of that name in the public schema, whatever its arguments. */
export async function dropFunction(runner: QueryRunner, name: string): Promise<void> {
  const overloads = (await runner.query(
    `SELECT p.oid::regprocedure::text AS signature FROM pg_proc p
      WHERE p.proname = $1 AND p.pronamespace = 'public'::regnamespace`,
    [name],
  )) as Array<{ signature: string }>;
  for (const { signature } of overloads) await runner.query(`DROP FUNCTION ${signature}`);
}
