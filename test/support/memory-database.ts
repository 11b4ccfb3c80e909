import { DataSource } from 'typeorm';
import { buildDataSourceOptions, type EmbeddedDatabase, openEmbeddedDatabase } from '@app/database';

/** An empty in-memory embedded database, initialized: no tables, no migrations, no functions. */
export async function openMemoryDatabase(): Promise<{
  embedded: EmbeddedDatabase;
  dataSource: DataSource;
}> {
  const embedded = await openEmbeddedDatabase('memory://');
  const dataSource = new DataSource(
    buildDataSourceOptions(
      { dataDir: 'memory://', poolSize: 1 },
      { entities: [], migrations: [], functions: [] },
      embedded.driver,
    ),
  );
  await dataSource.initialize();
  return { embedded, dataSource };
}
