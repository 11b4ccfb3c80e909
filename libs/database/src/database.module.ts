import { DynamicModule, Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { APP_CONFIG, AppConfig } from '@app/config';
import { buildDataSourceOptions, SchemaParts } from './data-source-options';
import { openEmbeddedDatabase } from './embedded/embedded-database';
import { DatabaseHealth } from './database-health';
import { HealthController } from './health.controller';
import { DatabaseMetrics } from './database-metrics';

/**
 * PostgreSQL when DATABASE_URL is set, else the embedded database in DATA_DIR (migrated at
 * start). Domain modules register their entities with TypeOrmModule.forFeature as usual.
 */
@Module({})
export class DatabaseModule {
  static forRoot(schema: SchemaParts): DynamicModule {
    return {
      module: DatabaseModule,
      global: true,
      imports: [
        TypeOrmModule.forRootAsync({
          inject: [APP_CONFIG],
          useFactory: async (config: AppConfig) => {
            const embedded = config.database.url
              ? undefined
              : await openEmbeddedDatabase(config.database.dataDir);
            return buildDataSourceOptions(config.database, schema, embedded?.driver);
          },
        }),
      ],
      controllers: [HealthController],
      providers: [DatabaseHealth, DatabaseMetrics],
      exports: [DatabaseHealth],
    };
  }
}
