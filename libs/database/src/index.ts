export { DatabaseModule } from './database.module';
export { DatabaseHealth } from './database-health';
export { DatabaseNotifications } from './database-notifications';
export type { NotificationSubscriber } from './database-notifications';
export { buildDataSourceOptions } from './data-source-options';
export type { DataSourcePurpose, SchemaParts } from './data-source-options';
export { openEmbeddedDatabase } from './embedded/embedded-database';
export type { EmbeddedDatabase } from './embedded/embedded-database';
export { EMBEDDED_DATABASE } from './embedded/embedded-database.token';
export {
  askDataDirHolder,
  DataDirInUseError,
  DataDirLock,
  isDataDirHeld,
} from './embedded/data-dir-lock';
export type { ControlHandler } from './embedded/data-dir-lock';
export { Sql, statement } from './sql';
export { perTurnBatcher } from './turn-batcher';
export type { Statement } from './sql';
