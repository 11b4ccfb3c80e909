import { Inject, Injectable, Logger } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundJob, Clock, describeError } from '@app/common';
import { EMBEDDED_DATABASE } from './embedded-database.token';
import type { EmbeddedDatabase } from './embedded-database';

const INTERVAL_MS = 60_000;
/** PostgreSQL's default checkpoint_timeout. */
const CHECKPOINT_INTERVAL_MS = 5 * 60_000;

/**
 * The tables autovacuum would see to, by its default thresholds, and what each needs: a vacuum
 * when its dead rows passed 50 + 20 % of its rows, the rows inserted since its last vacuum
 * 1 000 + 20 %, or its oldest unfrozen transaction ID autovacuum_freeze_max_age (its multixact
 * ID the same); an analyze when the rows changed since its last one passed 50 + 10 %. Its rows
 * are `reltuples`, which outlives a restart (PGlite's cumulative statistics do not). The system
 * catalogs and TOAST tables too (ANALYZE rewrites `pg_statistic`, whose TOAST table grew 8 KB an
 * ANALYZE unvacuumed), vacuumed only.
 */
const DUE = `
  SELECT name, vacuum, analyze_ AS "analyze" FROM (
    SELECT format('%I.%I', n.nspname, c.relname) AS name,
           coalesce(s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
                    OR s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0), false)
             OR age(c.relfrozenxid) > current_setting('autovacuum_freeze_max_age')::int
             OR mxid_age(c.relminmxid) > current_setting('autovacuum_multixact_freeze_max_age')::int
             AS vacuum,
           coalesce(c.relkind <> 't' AND n.nspname NOT IN ('pg_catalog', 'information_schema')
                    AND s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0), false)
             AS analyze_
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
      LEFT JOIN pg_stat_all_tables s ON s.relid = c.oid
     WHERE c.relkind IN ('r', 'm', 't') AND c.relpersistence <> 't') t
   WHERE vacuum OR analyze_
   ORDER BY name`;

/** A maintenance statement this long is logged: every request waited for it. */
const SLOW_MS = 100;

/**
 * What PostgreSQL's background processes would do, for the embedded database. PGlite is
 * PostgreSQL in single-user mode, which runs none:
 *
 * - nothing vacuums or analyzes its tables (measured: 89 902 dead rows and no statistics 70 s
 *   after churning a table). Dead rows would pile up, their space never reused, plans would never
 *   see the tables' real sizes, and rows never frozen would vanish from view once transaction IDs
 *   wrapped around, after about two billion (single-user mode only warns). Once a minute this runs
 *   what autovacuum would on each table that is due (DUE), one statement at a time: requests take
 *   turns with it between statements, and wait for each (logged when 100 ms or more);
 * - nothing checkpoints, however much WAL is written (measured: 200 MB of WAL with max_wal_size
 *   at 64 MB, no checkpoint), so `pg_wal` would grow until the process stops, and a restart after
 *   a crash would replay all of it. Every five minutes this runs `CHECKPOINT`, after which
 *   PostgreSQL recycles the old segments (200 MB of WAL checkpointed in 0.2 s).
 *
 * Nothing on PostgreSQL, whose own processes do both.
 */
@Injectable()
export class EmbeddedMaintenanceJob extends BackgroundJob {
  private readonly logger = new Logger('EmbeddedMaintenance');
  private nextCheckpointAt: number;

  constructor(
    private readonly dataSource: DataSource,
    @Inject(EMBEDDED_DATABASE) private readonly embedded: EmbeddedDatabase | null,
    private readonly clock: Clock,
  ) {
    super('EmbeddedMaintenance', INTERVAL_MS);
    this.nextCheckpointAt = this.clock.now().getTime() + CHECKPOINT_INTERVAL_MS;
  }

  override onApplicationBootstrap(): void {
    if (this.embedded) super.onApplicationBootstrap();
  }

  /**
   * One pass over the tables that are due, one statement each; a table whose statement fails is
   * logged and left to the next pass. The names of those it vacuumed or analyzed.
   */
  async maintain(): Promise<string[]> {
    const due = await this.dataSource.query<Due[]>(DUE);
    const done: string[] = [];
    for (const table of due) {
      if (this.stopping) break;
      const command =
        table.vacuum && table.analyze ? 'VACUUM (ANALYZE)' : table.vacuum ? 'VACUUM' : 'ANALYZE';
      if (await this.run(`${command} ${table.name}`)) done.push(table.name);
    }
    return done;
  }

  async checkpoint(): Promise<void> {
    this.nextCheckpointAt = this.clock.now().getTime() + CHECKPOINT_INTERVAL_MS;
    await this.run('CHECKPOINT');
  }

  async runOnce(): Promise<boolean> {
    await this.maintain();
    if (!this.stopping && this.clock.now().getTime() >= this.nextCheckpointAt)
      await this.checkpoint();
    return false;
  }

  private async run(statement: string): Promise<boolean> {
    const started = performance.now();
    try {
      await this.dataSource.query(statement);
    } catch (error) {
      this.logger.warn({ err: describeError(error), statement }, 'embedded maintenance failed');
      return false;
    }
    const ms = Math.round(performance.now() - started);
    if (ms >= SLOW_MS) this.logger.log({ statement, ms }, 'embedded maintenance held the database');
    return true;
  }
}

interface Due {
  name: string;
  vacuum: boolean;
  analyze: boolean;
}
