import { DynamicModule, Global, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import type { DataSourceOptions } from 'typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { buildDataSourceOptions, SchemaParts } from './data-source-options';
import { DataSourceWithFunctions } from './functions/data-source-with-functions';
import { EmbeddedDatabase, openEmbeddedDatabase } from './embedded/embedded-database';
import { DatabaseHealth } from './database-health';
import { HealthController } from './health.controller';
import { DatabaseMetrics } from './database-metrics';
import { DatabaseNotifications } from './database-notifications';
import { Sql } from './sql';
import { EMBEDDED_DATABASE } from './embedded/embedded-database.token';
import { EmbeddedMaintenanceJob } from './embedded/embedded-maintenance.job';

/** Opens the embedded database (when there is no DATABASE_URL) once, for TypeORM and the rest. */
@Global()
@Module({})
class EmbeddedDatabaseModule {
  static forRoot(): DynamicModule {
    return {
      module: EmbeddedDatabaseModule,
      providers: [
        {
          provide: EMBEDDED_DATABASE,
          inject: [APP_CONFIG],
          useFactory: (config: AppConfig): Promise<EmbeddedDatabase | null> | null =>
            config.database.url ? null : openEmbeddedDatabase(config.database.dataDir),
        },
      ],
      exports: [EMBEDDED_DATABASE],
    };
  }
}

/**
 * PostgreSQL when DATABASE_URL is set, else the embedded database in DATA_DIR (migrated at
 * start). Domain modules register their entities with TypeOrmModule.forFeature as usual.
 */
@Module({})
export class DatabaseModule {
  /** `connect.retryAttempts`: how often to retry connecting at start (Nest's default: 9). */
  static forRoot(schema: SchemaParts, connect: { retryAttempts?: number } = {}): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        EmbeddedDatabaseModule.forRoot(),
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG, EMBEDDED_DATABASE],
          useFactory: (config: AppConfig, embedded: EmbeddedDatabase | null) => ({
            ...buildDataSourceOptions(config.database, schema, embedded?.driver),
            ...connect,
          }),
          // The embedded database migrates at start, database functions included.
          dataSourceFactory: async (options) =>
            new DataSourceWithFunctions(options as DataSourceOptions, schema.functions),
        }),
      ],
      controllers: [HealthController],
      providers: [
        DatabaseHealth,
        DatabaseMetrics,
        DatabaseNotifications,
        Sql,
        EmbeddedMaintenanceJob,
      ],
      exports: [DatabaseHealth, DatabaseNotifications, Sql],
    };
  }
}
