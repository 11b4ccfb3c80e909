import type { DataSourceOptions, MixedList, EntitySchema } from 'typeorm';
import type { DatabaseConfig } from '@app/config';
import { PartitionSafeClient } from './partition-safe-client';
import { DataSourceWithFunctions } from './functions/data-source-with-functions';
import type { SqlFunctionFile } from './functions/sql-function-file';

/**
 * Entities, migrations and database functions are listed by the composition root, so this lib
 * imports no domain lib.
 */
export interface SchemaParts {
  // TypeORM's own option types; Function is what it accepts for entity/migration classes.
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  /** The current definition of every database function, applied after the migrations. */
  functions: SqlFunctionFile[];
}

const STATEMENT_TIMEOUT_MS = 5_000;

/**
 * node-postgres pool options for serving requests. A stuck statement or a forgotten transaction
 * must not hold a connection forever; the hot paths take milliseconds. The server enforces
 * statement_timeout; a query lost in a network partition is bounded by query_timeout on this
 * side, and its connection destroyed (PartitionSafeClient).
 */
const REQUEST_POOL_OPTIONS = {
  statement_timeout: STATEMENT_TIMEOUT_MS,
  query_timeout: STATEMENT_TIMEOUT_MS + 500,
  idle_in_transaction_session_timeout: 30_000,
  keepAlive: true,
  keepAliveInitialDelayMillis: 10_000,
  Client: PartitionSafeClient,
};

/** Common to PostgreSQL and the embedded database. */
const SHARED = {
  type: 'postgres',
  synchronize: false,
  migrationsTableName: 'migrations',
  migrationsTransactionMode: 'each',
  // gen_random_uuid() is built into PostgreSQL 13+; never install uuid-ossp.
  uuidExtension: 'pgcrypto',
  installExtensions: false,
  logging: false,
} as const;

/** What a data source is for: serving requests (tight timeouts) or migrating (none). */
export type DataSourcePurpose = 'app' | 'migrations';

/**
 * The one options builder: the app, the tests and the migration CLI all build their data source
 * here. `embeddedDriver` is set only for the embedded database (a pg-shaped driver over PGlite).
 */
export function buildDataSourceOptions(
  config: DatabaseConfig,
  schema: SchemaParts,
  embeddedDriver?: unknown,
  purpose: DataSourcePurpose = 'app',
): DataSourceOptions {
  const { entities, migrations } = schema;
  if (embeddedDriver) {
    return {
      ...SHARED,
      entities,
      migrations,
      driver: embeddedDriver,
      // The embedded database lives with the process: bring its schema up to date at start.
      migrationsRun: true,
      poolSize: 1,
    };
  }
  if (!config.url) throw new Error('DATABASE_URL is required for PostgreSQL');
  return {
    ...SHARED,
    entities,
    migrations,
    url: config.url,
    poolSize: config.poolSize,
    connectTimeoutMS: 5000,
    applicationName: 'otp-link',
    // A migration may rewrite a large table: no request timeouts for it.
    extra: purpose === 'migrations' ? {} : REQUEST_POOL_OPTIONS,
  };
}

/** A data source on the options above whose migrations bring the database functions up to date. */
export function createDataSource(
  config: DatabaseConfig,
  schema: SchemaParts,
  embeddedDriver?: unknown,
  purpose: DataSourcePurpose = 'app',
): DataSourceWithFunctions {
  return new DataSourceWithFunctions(
    buildDataSourceOptions(config, schema, embeddedDriver, purpose),
    schema.functions,
  );
}
