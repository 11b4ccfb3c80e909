import { DataSource, type DataSourceOptions, type Migration } from 'typeorm';
import { applyFunctionChanges, pendingFunctionChanges } from './function-migrator';
import type { SqlFunctionFile } from './sql-function-file';

type RunOptions = Parameters<DataSource['runMigrations']>[0];

/**
 * A data source whose migrations include the database functions: after the versioned
 * migrations, `runMigrations` re-creates every function whose `.sql` file changed. Every way
 * the service migrates goes through it: `npm run migration:run` (TypeORM's CLI calls
 * runMigrations), `migrate.js`, the embedded database at start (migrationsRun), the tests.
 */
export class DataSourceWithFunctions extends DataSource {
  constructor(
    options: DataSourceOptions,
    private readonly functions: SqlFunctionFile[],
  ) {
    super(options);
  }

  override async runMigrations(options?: RunOptions): Promise<Migration[]> {
    const applied = await super.runMigrations(options);
    if (options?.fake) return applied;
    const newer = await this.migrationsUnknownHere();
    if (newer.length > 0) {
      // An older build (a rollback, a stale pod) must not put back its own functions over the
      // ones the newer schema needs.
      this.logger.log(
        'warn',
        `database functions left as they are: the database has migrations this build does ` +
          `not know (${newer.join(', ')}), so it is newer than this build`,
      );
      return applied;
    }
    await this.applyFunctions();
    return applied;
  }

  /** Migrations the database has run that this build does not have. */
  private async migrationsUnknownHere(): Promise<string[]> {
    const table = this.options.migrationsTableName ?? 'migrations';
    const rows = await this.query<Array<{ name: string }>>(`SELECT name FROM "${table}"`);
    const known = new Set(this.migrations.map((migration) => migration.name));
    return rows.map((row) => row.name).filter((name) => !known.has(name));
  }

  /** Re-creates the functions whose files changed; returns their names. */
  async applyFunctions(): Promise<string[]> {
    const runner = this.createQueryRunner();
    try {
      return await applyFunctionChanges(runner, this.functions);
    } finally {
      await runner.release();
    }
  }

  /** `migration:show` lists the functions a run would re-create or drop too. */
  override async showMigrations(): Promise<boolean> {
    const pendingMigrations = await super.showMigrations();
    const runner = this.createQueryRunner();
    try {
      const { apply, drop } = await pendingFunctionChanges(runner, this.functions);
      for (const file of apply) this.logger.logSchemaBuild(` [ ] function ${file.name}`);
      for (const name of drop) this.logger.logSchemaBuild(` [ ] drop function ${name}`);
      return pendingMigrations || apply.length > 0 || drop.length > 0;
    } finally {
      await runner.release();
    }
  }
}
