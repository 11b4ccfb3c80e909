import 'reflect-metadata';
import { DataSource } from 'typeorm';
import { loadConfig, readEnvironment } from '@app/config';
import { buildDataSourceOptions } from '@app/database';
import { SCHEMA } from './entities';

/** The data source of the TypeORM migration CLI (`npm run migration:*`): PostgreSQL at DATABASE_URL. */
const config = loadConfig(readEnvironment());
if (!config.database.url) {
  throw new Error('DATABASE_URL must name the PostgreSQL database to migrate');
}
export default new DataSource(
  buildDataSourceOptions(config.database, SCHEMA, undefined, 'migrations'),
);
