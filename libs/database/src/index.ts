export { DatabaseModule } from './database.module';
export { DatabaseHealth } from './database-health';
export { DatabaseNotifications } from './database-notifications';
export type { NotificationSubscriber } from './database-notifications';
export { buildDataSourceOptions, createDataSource } from './data-source-options';
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
export { Sql } from './sql';
export { statement } from './statement';
export { deleteBatch } from './delete-batch';
export { perTurnBatcher } from './turn-batcher';
export type { Statement } from './statement';
export { DataSourceWithFunctions } from './functions/data-source-with-functions';
export { sqlFunctionsIn, sqlFunctionFile } from './functions/sql-function-file';
export type { SqlFunctionFile } from './functions/sql-function-file';
export { jsonArgs, sqlFunctionCall, parameterName } from './functions/sql-function-call';
export type { SqlFunctionCall, ArgumentTypes } from './functions/sql-function-call';
export {
  FUNCTIONS_TABLE,
  applyFunctionChanges,
  dropFunction,
  pendingFunctionChanges,
} from './functions/function-migrator';
