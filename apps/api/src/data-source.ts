import 'reflect-metadata';
import { loadConfig, readEnvironment } from '@app/config';
import { createDataSource } from '@app/database';
import { SCHEMA } from '@app/migrations';

/** The data source of the TypeORM migration CLI (`npm run migration:*`): PostgreSQL at DATABASE_URL. */
const config = loadConfig(readEnvironment());
if (!config.database.url) {
  throw new Error('DATABASE_URL must name the PostgreSQL database to migrate');
}
export default createDataSource(config.database, SCHEMA, undefined, 'migrations');
