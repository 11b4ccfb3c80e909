import { EventEmitter } from 'node:events';
import type { PGlite, Results } from '@electric-sql/pglite';
import { SessionLock } from './session-lock';

/**
 * A `pg`-shaped driver over PGlite, for TypeORM's postgres driver (`options.driver`).
 *
 * PGlite is one database session. If two TypeORM query runners shared it freely, the statements
 * of concurrent transactions would interleave inside one server transaction (lost updates, a
 * ROLLBACK undoing someone else's work). So the pool hands out one client at a time: a client
 * holds the session lock from `connect` until `release`, exactly like a pool of size one.
 */

type Callback = (
  err: Error | undefined,
  client?: PgliteClient,
  release?: (err?: unknown) => void,
) => void;

/** What TypeORM reads from a pg result. */
interface PgResult {
  rows: unknown[];
  rowCount: number;
  command: string;
  fields: Results['fields'];
}

class PgliteClient extends EventEmitter {
  constructor(private readonly db: PGlite) {
    super();
  }

  async query(text: string, params?: unknown[]): Promise<PgResult> {
    const result =
      params && params.length > 0
        ? await this.db.query(text, params)
        : lastOf(await this.db.exec(text)); // exec accepts several statements, as pg's simple query does
    return {
      rows: result.rows,
      rowCount: result.rowCount ?? result.affectedRows ?? result.rows.length,
      command: result.command ?? commandOf(text),
      fields: result.fields,
    };
  }
}

class PglitePool extends EventEmitter {
  private readonly lock = new SessionLock();
  private readonly client: PgliteClient;
  private ended = false;
  /** Clients handed out and not yet released (0 or 1). */
  totalCount = 0;

  constructor(
    private readonly db: PGlite,
    private readonly onClosed?: () => Promise<void>,
  ) {
    super();
    this.client = new PgliteClient(db);
  }

  connect(): Promise<PgliteClient & { release: (err?: unknown) => void }>;
  connect(callback: Callback): void;
  connect(callback?: Callback): Promise<unknown> | void {
    const acquired = this.acquire();
    if (!callback) return acquired;
    acquired.then(
      (client) => callback(undefined, client, client.release),
      (err: Error) => callback(err),
    );
  }

  private async acquire(): Promise<PgliteClient & { release: (err?: unknown) => void }> {
    if (this.ended) throw new Error('embedded database pool has ended');
    const unlock = await this.lock.acquire();
    this.totalCount = 1;
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.totalCount = 0;
      unlock();
    };
    return Object.assign(Object.create(this.client) as PgliteClient, { release });
  }

  /**
   * A one-off query outside any transaction, serialised like the rest. Takes pg's query config
   * too (`{name, text, values}`): PGlite has no named statements, so the name is not used.
   */
  async query(
    query: string | { text: string; values?: unknown[] },
    params?: unknown[],
  ): Promise<PgResult> {
    const [text, values] = typeof query === 'string' ? [query, params] : [query.text, query.values];
    const client = await this.acquire();
    try {
      return await client.query(text, values);
    } finally {
      client.release();
    }
  }

  /** Closes the database once the session in use (if any) is released; PGlite flushes to disk. */
  end(callback?: (err?: Error) => void): Promise<void> | void {
    this.ended = true;
    const closed = this.lock.acquire().then(async (unlock) => {
      try {
        if (!this.db.closed) {
          await this.db.close();
          await this.onClosed?.();
        }
      } finally {
        unlock();
      }
    });
    if (!callback) return closed;
    closed.then(
      () => callback(),
      (err: Error) => callback(err),
    );
  }
}

function lastOf(results: Results[]): Results {
  return results[results.length - 1] ?? { rows: [], fields: [] };
}

function commandOf(sql: string): string {
  return /^\s*(\w+)/.exec(sql)?.[1]?.toUpperCase() ?? '';
}

/** The module object TypeORM expects from `require('pg')`, bound to one PGlite instance. */
export function createPglitePgDriver(
  db: PGlite,
  onClosed?: () => Promise<void>,
): { Pool: new () => PglitePool } {
  const pool = new PglitePool(db, onClosed);
  // TypeORM constructs the pool itself; every construction shares the one session.
  return {
    Pool: function Pool() {
      return pool;
    } as unknown as new () => PglitePool,
  };
}

export type { PglitePool };
