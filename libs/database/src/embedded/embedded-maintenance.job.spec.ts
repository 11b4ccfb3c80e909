import type { DataSource } from 'typeorm';
import { openMemoryDatabase } from '../../../../test/support/memory-database';
import { MovableClock } from '../../../../test/support/movable-clock';
import type { EmbeddedDatabase } from './embedded-database';
import { EmbeddedMaintenanceJob } from './embedded-maintenance.job';

interface TableStats {
  dead: number;
  vacuumed: boolean;
  analyzed: boolean;
  estimate: number;
}

describe('EmbeddedMaintenanceJob (autovacuum for the embedded database)', () => {
  let embedded: EmbeddedDatabase;
  let dataSource: DataSource;
  let job: EmbeddedMaintenanceJob;

  beforeAll(async () => {
    ({ embedded, dataSource } = await openMemoryDatabase());
    job = new EmbeddedMaintenanceJob(dataSource, embedded, new MovableClock());
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  /** The cumulative statistics are flushed at most once a second: force it before reading. */
  async function flushStats(): Promise<void> {
    await dataSource.query('SELECT pg_stat_force_next_flush()');
    await dataSource.query('SELECT 1');
  }

  async function stats(table: string): Promise<TableStats> {
    await flushStats();
    const [row] = await dataSource.query<TableStats[]>(
      `SELECT s.n_dead_tup::int AS dead, s.last_vacuum IS NOT NULL AS vacuumed,
              s.last_analyze IS NOT NULL AS analyzed, c.reltuples::int AS estimate
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
        WHERE s.relname = $1`,
      [table],
    );
    return row;
  }

  it('vacuums and analyzes a table whose dead rows passed the threshold', async () => {
    await dataSource.query('CREATE TABLE churned (id int PRIMARY KEY, note text NOT NULL)');
    await dataSource.query(`INSERT INTO churned SELECT g, 'x' FROM generate_series(1, 2000) g`);
    await dataSource.query('DELETE FROM churned WHERE id % 2 = 0');
    expect(await stats('churned')).toEqual({
      dead: 1000,
      vacuumed: false,
      analyzed: false,
      estimate: -1,
    });

    await flushStats();
    expect(await job.maintain()).toContain('public.churned');

    expect(await stats('churned')).toEqual({
      dead: 0,
      vacuumed: true,
      analyzed: true,
      estimate: 1000,
    });
  });

  it('only analyzes a table with few changes and no dead rows, and leaves a quiet one alone', async () => {
    await dataSource.query('CREATE TABLE grown (id int PRIMARY KEY)');
    await dataSource.query('INSERT INTO grown SELECT generate_series(1, 60)');
    await dataSource.query('CREATE TABLE quiet (id int PRIMARY KEY)');
    await dataSource.query('INSERT INTO quiet SELECT generate_series(1, 10)');
    await flushStats();

    const maintained = await job.maintain();

    expect(maintained).toContain('public.grown');
    expect(maintained).not.toContain('public.quiet');
    expect(await stats('grown')).toMatchObject({ vacuumed: false, analyzed: true, estimate: 60 });
    expect(await stats('quiet')).toMatchObject({ vacuumed: false, analyzed: false });
  });

  it('vacuums the system catalogs too, without analyzing them', async () => {
    for (let i = 0; i < 40; i++) {
      await dataSource.query('CREATE TABLE scratch (id int PRIMARY KEY, note text)');
      await dataSource.query('DROP TABLE scratch');
    }
    await flushStats();

    expect(await job.maintain()).toContain('pg_catalog.pg_attribute');

    const [attribute] = await dataSource.query<{ vacuumed: boolean; analyzed: boolean }[]>(
      `SELECT last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analyzed
         FROM pg_stat_all_tables WHERE relid = 'pg_catalog.pg_attribute'::regclass`,
    );
    expect(attribute).toEqual({ vacuumed: true, analyzed: false });
  });

  it('sizes its thresholds by the rows the table had, not by statistics a restart lost', async () => {
    await dataSource.query('CREATE TABLE sized (id int PRIMARY KEY)');
    await dataSource.query('INSERT INTO sized SELECT generate_series(1, 2000)');
    await dataSource.query('VACUUM (ANALYZE) sized');
    await flushStats();
    // What a restart does to PGlite's counters (they are not kept), not to reltuples.
    await dataSource.query("SELECT pg_stat_reset_single_table_counters('sized'::regclass)");
    await dataSource.query('DELETE FROM sized WHERE id <= 60');
    await flushStats();

    // 60 dead rows: past 50 + 20 % of the live rows counted since the reset (none), not of the
    // 2 000 the table has.
    expect(await job.maintain()).not.toContain('public.sized');
  });

  it('quotes table names', async () => {
    await dataSource.query('CREATE TABLE "odd ""name""" (id int PRIMARY KEY)');
    await dataSource.query('INSERT INTO "odd ""name""" SELECT generate_series(1, 60)');
    await flushStats();

    expect(await job.maintain()).toContain('public."odd ""name"""');
    expect(await stats('odd "name"')).toMatchObject({ analyzed: true });
  });

  it('checkpoints every five minutes, which PostgreSQL in single-user mode never does', async () => {
    const redo = async (): Promise<string> =>
      (
        await dataSource.query<{ redo: string }[]>(
          'SELECT redo_lsn::text AS redo FROM pg_control_checkpoint()',
        )
      )[0].redo;
    const clock = new MovableClock();
    const fresh = new EmbeddedMaintenanceJob(dataSource, embedded, clock);
    await dataSource.query('CREATE TABLE logged (id int)');
    await dataSource.query('INSERT INTO logged SELECT generate_series(1, 1000)');
    const before = await redo();

    await fresh.runOnce();
    expect(await redo()).toBe(before);

    clock.advance(5 * 60);
    await fresh.runOnce();
    const checkpointed = await redo();
    expect(checkpointed).not.toBe(before);

    await dataSource.query('INSERT INTO logged SELECT generate_series(1, 1000)');
    await fresh.runOnce(); // the next one is due five minutes after this one
    expect(await redo()).toBe(checkpointed);
  });

  it('runs nothing more once shutdown began', async () => {
    const stopped = new EmbeddedMaintenanceJob(dataSource, embedded, new MovableClock());
    await stopped.onModuleDestroy();
    await dataSource.query('CREATE TABLE late (id int PRIMARY KEY)');
    await dataSource.query('INSERT INTO late SELECT generate_series(1, 200)');
    await flushStats();

    expect(await stopped.maintain()).toEqual([]);
    expect(await job.maintain()).toContain('public.late');
  });

  it('does not start on PostgreSQL, whose autovacuum does the work', async () => {
    const onPostgres = new EmbeddedMaintenanceJob(dataSource, null, new MovableClock());
    const maintain = jest.spyOn(onPostgres, 'maintain');
    jest.useFakeTimers();
    try {
      onPostgres.onApplicationBootstrap();
      jest.advanceTimersByTime(10 * 60_000);
      expect(maintain).not.toHaveBeenCalled();
    } finally {
      jest.useRealTimers();
      await onPostgres.onModuleDestroy();
    }
  });
});
