export { DatabaseModule } from './database.module';
export { DatabaseHealth } from './database-health';
export { buildDataSourceOptions } from './data-source-options';
export type { DataSourcePurpose, SchemaParts } from './data-source-options';
export { openEmbeddedDatabase } from './embedded/embedded-database';
export type { EmbeddedDatabase } from './embedded/embedded-database';
