import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { SqlFunctionCall } from './functions/sql-function-call';
import type { Statement } from './statement';

/** What node-postgres' pool (and the embedded pool) take: a named query config. */
interface Pool {
  query(config: { name: string; text: string; values: unknown[] }): Promise<{
    rows: unknown[];
    rowCount: number | null;
  }>;
}

/**
 * The request path's queries, straight to the connection pool as prepared statements: the
 * database parses and plans each statement once per connection, not on every request, and the
 * ORM's per-query bookkeeping is skipped. Errors are the driver's own (`code`, `constraint`).
 * Pool, timeouts and the embedded database are the data source's: nothing is configured twice.
 */
@Injectable()
export class Sql {
  constructor(private readonly dataSource: DataSource) {}

  async rows<T>(query: Statement, values: unknown[]): Promise<T[]> {
    return (await this.pool().query({ ...query, values })).rows as T[];
  }

  /** The first row, or undefined. */
  async row<T>(query: Statement, values: unknown[]): Promise<T | undefined> {
    return (await this.rows<T>(query, values))[0];
  }

  /**
   * Calls a database function that answers one row (OUT parameters or a one-row table), with the
   * arguments by name.
   */
  async call<Args, Row>(fn: SqlFunctionCall<Args, Row>, args: Args): Promise<Row> {
    const row = await this.row<Row>(
      fn,
      fn.keys.map((key) => args[key]),
    );
    if (row === undefined) throw new Error(`${fn.text} answered no row`);
    return row;
  }

  /** How many rows the statement changed. */
  async run(query: Statement, values: unknown[]): Promise<number> {
    return (await this.pool().query({ ...query, values })).rowCount ?? 0;
  }

  private pool(): Pool {
    return (this.dataSource.driver as unknown as { master: Pool }).master;
  }
}
