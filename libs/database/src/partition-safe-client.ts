import { Client } from 'pg';

const READ_TIMEOUT = 'Query read timeout';

/**
 * node-postgres' client, with one change: when a query outlives `query_timeout` (the server
 * never answered: a network partition), the connection is destroyed. Left open, it would keep
 * the unanswered query as its active one, so every later query on it (the transaction's
 * ROLLBACK first) would wait for the partition to end. Destroyed, the pool replaces it and those
 * queries fail at once, as 503 UNAVAILABLE.
 */
export class PartitionSafeClient extends Client {
  // pg's `query` has a dozen overloads; this wrapper passes every argument through unchanged.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  override query(...args: any[]): any {
    const result = (super.query as (...a: unknown[]) => unknown).apply(this, args);
    if (result instanceof Promise) {
      result.catch((error: unknown) => {
        if (error instanceof Error && error.message === READ_TIMEOUT) this.destroyConnection();
      });
    }
    return result;
  }

  private destroyConnection(): void {
    (
      this as unknown as { connection?: { stream?: { destroy(): void } } }
    ).connection?.stream?.destroy();
  }
}
