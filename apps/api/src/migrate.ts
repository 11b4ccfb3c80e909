import 'reflect-metadata';
import { ConfigError, loadConfig, readEnvironment } from '@app/config';
import { createDataSource } from '@app/database';
import { SCHEMA } from '@app/migrations';

/**
 * Applies pending migrations to DATABASE_URL from the compiled build (production images have no
 * ts-node; development uses `npm run migration:run`).
 */
async function migrate(): Promise<void> {
  const config = loadConfig(readEnvironment());
  if (!config.database.url) throw new Error('DATABASE_URL must name the database to migrate');
  const dataSource = createDataSource(config.database, SCHEMA, undefined, 'migrations');
  await dataSource.initialize();
  try {
    const applied = await dataSource.runMigrations({ transaction: 'each' });
    process.stdout.write(
      `${JSON.stringify({ applied: applied.map((migration) => migration.name) })}\n`,
    );
  } finally {
    await dataSource.destroy();
  }
}

migrate().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof ConfigError ? error.message : `migration failed: ${String(error)}`}\n`,
  );
  process.exit(1);
});
