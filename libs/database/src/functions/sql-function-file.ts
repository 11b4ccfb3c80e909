import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * One database function's current definition: a `.sql` file in the lib that owns the function,
 * named after it. The migration runner re-creates the function whenever the file's checksum
 * changes (like Flyway's repeatable migrations): changing a rule is editing that one file.
 */
export interface SqlFunctionFile {
  /** The function's name, which is the file's name without `.sql`. */
  name: string;
  /** The file's text: one `CREATE FUNCTION <name>(…)`. */
  sql: string;
  /** SHA-256 of the text, hex. */
  checksum: string;
}

const FUNCTION_NAME = /^[a-z][a-z0-9_]{0,62}$/;

/** Every `*.sql` file of `directory`, by name. Throws on a file whose name or text is not one function. */
export function sqlFunctionsIn(directory: string): SqlFunctionFile[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) =>
      sqlFunctionFile(basename(file, '.sql'), readFileSync(join(directory, file), 'utf8')),
    );
}

export function sqlFunctionFile(name: string, sql: string): SqlFunctionFile {
  if (!FUNCTION_NAME.test(name)) throw new Error(`${name}.sql: not a function name`);
  // The file must create the function it is named after, and nothing under another name.
  const created = [...sql.matchAll(/\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+([a-z0-9_]+)/gi)];
  if (created.length !== 1 || created[0][1] !== name) {
    throw new Error(`${name}.sql must create exactly one function, ${name}`);
  }
  return { name, sql, checksum: createHash('sha256').update(sql).digest('hex') };
}
