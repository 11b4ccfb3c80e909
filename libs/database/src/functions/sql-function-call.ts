import { statement, type Statement } from '../statement';

/** The PostgreSQL type of each argument, keyed by its TypeScript name. */
export type ArgumentTypes<Args> = { readonly [K in keyof Args]-?: string };

/**
 * A call of a database function with named arguments: the statement
 * `SELECT * FROM name(p_client_id => $1::varchar, …)`, prepared once per connection, and the
 * order its values take. `Args` and `Row` type what goes in and what comes out.
 */
export interface SqlFunctionCall<Args, Row> extends Statement {
  readonly keys: ReadonlyArray<keyof Args>;
  /** Carries the row type; never set. */
  readonly row?: Row;
}

/** `clientId` → `client_id`: how SQL names what TypeScript calls clientId. */
function snakeCase(key: string): string {
  let name = snakeCases.get(key);
  if (name === undefined) {
    name = key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
    // Keys are the argument names of the code's own types: a few dozen, converted on every call.
    if (snakeCases.size < MAX_SNAKE_CASES) snakeCases.set(key, name);
  }
  return name;
}
const snakeCases = new Map<string, string>();
const MAX_SNAKE_CASES = 1_000;

/** `clientId` → `p_client_id`: the convention of every function's parameter names. */
export function parameterName(key: string): string {
  return `p_${snakeCase(key)}`;
}

/**
 * A primitive's arguments as one `jsonb` value: the function reads them back, named and typed,
 * with `jsonb_to_record(p_args) AS x(client_id varchar, …)`. Keys become snake_case, bytes
 * `\\x…` hex and times ISO 8601, the text forms PostgreSQL reads into bytea and timestamptz.
 * A use case passes such a value through without knowing what is in it, so a primitive can gain
 * an argument without touching the functions that compose it.
 */
export function jsonArgs(args: object): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(args).map(([key, value]: [string, unknown]) => [
      snakeCase(key),
      Buffer.isBuffer(value)
        ? `\\x${value.toString('hex')}`
        : value instanceof Date
          ? value.toISOString()
          : value,
    ]),
  );
}

/**
 * Describes a call of function `name`. Arguments are passed by name, with explicit types, so a
 * function's parameters can be reordered or gain defaults without breaking a caller, and NULLs
 * need no guessing.
 */
export function sqlFunctionCall<Args extends object, Row>(
  name: string,
  types: ArgumentTypes<Args>,
): SqlFunctionCall<Args, Row> {
  const keys = Object.keys(types) as Array<keyof Args & string>;
  const args = keys.map((key, i) => `${parameterName(key)} => $${i + 1}::${types[key]}`);
  return { ...statement(`SELECT * FROM ${name}(${args.join(', ')})`), keys };
}
