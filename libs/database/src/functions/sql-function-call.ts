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

/** `clientId` → `p_client_id`: the convention of every function's parameter names. */
export function parameterName(key: string): string {
  return `p_${key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)}`;
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
