import type { DataSource } from 'typeorm';
import { openMemoryDatabase } from '../../../../test/support/memory-database';

describe('PGlite pg driver (embedded database)', () => {
  let dataSource: DataSource;

  beforeAll(async () => {
    ({ dataSource } = await openMemoryDatabase());
    await dataSource.query('CREATE TABLE counter (id int PRIMARY KEY, value int NOT NULL)');
    await dataSource.query('CREATE TABLE entries (id bigserial PRIMARY KEY, note text NOT NULL)');
  });

  afterAll(async () => {
    await dataSource.destroy();
  });

  beforeEach(async () => {
    await dataSource.query('DELETE FROM counter');
    await dataSource.query('DELETE FROM entries');
    await dataSource.query('INSERT INTO counter VALUES (1, 0)');
  });

  it('serialises concurrent read-modify-write transactions: no lost update', async () => {
    const increments = 40;
    await Promise.all(
      Array.from({ length: increments }, () =>
        dataSource.transaction(async (manager) => {
          const [row] = await manager.query<Array<{ value: number }>>(
            'SELECT value FROM counter WHERE id = 1',
          );
          await new Promise((resolve) => setImmediate(resolve)); // let the others try to interleave
          await manager.query('UPDATE counter SET value = $1 WHERE id = 1', [row.value + 1]);
        }),
      ),
    );
    const [{ value }] = await dataSource.query('SELECT value FROM counter WHERE id = 1');
    expect(value).toBe(increments);
  });

  it('a rollback undoes only its own transaction, never a concurrent commit', async () => {
    const failing = dataSource.transaction(async (manager) => {
      await manager.query(`INSERT INTO entries (note) VALUES ('doomed')`);
      await new Promise((resolve) => setImmediate(resolve));
      throw new Error('abort');
    });
    const committing = Array.from({ length: 5 }, (_, i) =>
      dataSource.transaction((manager) =>
        manager.query(`INSERT INTO entries (note) VALUES ($1)`, [`kept-${i}`]),
      ),
    );
    await expect(failing).rejects.toThrow('abort');
    await Promise.all(committing);
    const notes = await dataSource.query<Array<{ note: string }>>(
      'SELECT note FROM entries ORDER BY note',
    );
    expect(notes.map((row) => row.note)).toEqual([
      'kept-0',
      'kept-1',
      'kept-2',
      'kept-3',
      'kept-4',
    ]);
  });

  it('returns values typed as node-postgres does (bigint as string, timestamptz as Date)', async () => {
    const [row] = await dataSource.query(
      `SELECT count(*) AS n, now() AS at, 1.50::numeric AS amount`,
    );
    expect(row).toEqual({ n: '1', at: expect.any(Date), amount: '1.50' });
  });

  it('reports UPDATE row counts the way TypeORM expects from pg', async () => {
    const result = await dataSource.query('UPDATE counter SET value = value + 1 RETURNING value');
    expect(result).toEqual([[{ value: 1 }], 1]);
  });

  it('surfaces constraint violations with SQLSTATE and constraint name', async () => {
    await expect(dataSource.query('INSERT INTO counter VALUES (1, 5)')).rejects.toMatchObject({
      driverError: { code: '23505', constraint: 'counter_pkey' },
    });
  });
});
