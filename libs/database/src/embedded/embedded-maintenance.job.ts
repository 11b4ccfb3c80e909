import { Inject, Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundJob } from '@app/common';
import { EMBEDDED_DATABASE } from './embedded-database.token';
import type { EmbeddedDatabase } from './embedded-database';

const INTERVAL_MS = 60_000;
/** PostgreSQL's default checkpoint_timeout. */
const CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/**
 * The tables autovacuum would see to, by its default thresholds (a table's dead rows past
 * 50 + 20 % of its live ones, rows inserted since its last vacuum past 1 000 + 20 %, rows
 * changed since its last analyze past 50 + 10 %), and what to run on each.
 */
const DUE = `
  SELECT format('%I.%I', schemaname, relname) AS name,
         (n_dead_tup > 50 + 0.2 * n_live_tup
          OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup) AS vacuum
    FROM pg_stat_user_tables
   WHERE n_dead_tup > 50 + 0.2 * n_live_tup
      OR n_ins_since_vacuum > 1000 + 0.2 * n_live_tup
      OR n_mod_since_analyze > 50 + 0.1 * n_live_tup
   ORDER BY relname`;

/**
 * What PostgreSQL's background processes would do, for the embedded database. PGlite is
 * PostgreSQL in single-user mode, which runs none:
 *
 * - nothing vacuums or analyzes its tables (measured: 89 902 dead rows and no statistics 70 s
 *   after churning a table). Dead rows would pile up, their space never reused, plans would never
 *   see the tables' real sizes, and after about two billion transactions PostgreSQL would stop to
 *   protect itself from transaction-ID wraparound. Once a minute this runs what autovacuum would:
 *   `VACUUM (ANALYZE)` or `ANALYZE` on each table past its threshold, one statement at a time, so
 *   requests take turns with it on the session;
 * - nothing checkpoints, however much WAL is written (measured: 200 MB of WAL with max_wal_size
 *   at 64 MB, no checkpoint), so `pg_wal` would grow until the process stops, and a restart after
 *   a crash would replay all of it. Every five minutes this runs `CHECKPOINT`, after which
 *   PostgreSQL recycles the old segments (200 MB of WAL checkpointed in 0.2 s).
 *
 * Nothing on PostgreSQL, whose own processes do both.
 */
@Injectable()
export class EmbeddedMaintenanceJob extends BackgroundJob {
  private nextCheckpointAt = Date.now() + CHECKPOINT_INTERVAL_MS;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
  ) {
    super('EmbeddedMaintenance', INTERVAL_MS);
  }

  override onApplicationBootstrap(): void {
    if (this.embedded) super.onApplicationBootstrap();
  }

  /** One pass over the tables that are due; the names of those it vacuumed or analyzed. */
  async maintain(): Promise<string[]> {
    const due = await this.dataSource.query<{ name: string; vacuum: boolean }[]>(DUE);
    for (const table of due) {
      await this.dataSource.query(`${table.vacuum ? 'VACUUM (ANALYZE)' : 'ANALYZE'} ${table.name}`);
    }
    return due.map((table) => table.name);
  }

  async checkpoint(): Promise<void> {
    await this.dataSource.query('CHECKPOINT');
    this.nextCheckpointAt = Date.now() + CHECKPOINT_INTERVAL_MS;
  }

  async runOnce(): Promise<boolean> {
    await this.maintain();
    if (Date.now() >= this.nextCheckpointAt) await this.checkpoint();
    return false;
  }
}
