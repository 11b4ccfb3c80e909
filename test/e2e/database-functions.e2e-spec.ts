import { DataSource, QueryRunner } from 'typeorm';
import {
  applyFunctionChanges,
  pendingFunctionChanges,
  sqlFunctionFile,
  SqlFunctionFile,
} from '@app/database';
import { SCHEMA } from '@app/migrations';
import { onRunner, openTestDataSource } from '../support/test-database';

/** A function of one argument that answers `answer`. */
function probe(answer: string, argument = 'p_x integer'): SqlFunctionFile {
  return sqlFunctionFile(
    'zz_probe',
    `CREATE FUNCTION zz_probe(${argument}) RETURNS text LANGUAGE sql IMMUTABLE AS $$ SELECT '${answer}'::text $$;`,
  );
}

/** Each lib's functions are re-created by the migration runner when their `.sql` file changes. */
describe('database functions from sql/ files', () => {
  let dataSource: DataSource;
  let close: () => Promise<void>;

  const withRunner = <T>(work: (runner: QueryRunner) => Promise<T>) => onRunner(dataSource, work);
  const apply = (files: SqlFunctionFile[]) =>
    withRunner((runner) => applyFunctionChanges(runner, files));
  const pending = (files: SqlFunctionFile[]) =>
    withRunner((runner) => pendingFunctionChanges(runner, files));

  beforeEach(async () => {
    ({ dataSource, close } = await openTestDataSource(1));
  });

  afterEach(() => close());

  const call = async (sql: string) =>
    (await dataSource.query<Array<{ answer: string }>>(`SELECT ${sql} AS answer`))[0].answer;

  it('are all applied after the migrations, each recorded with its checksum', async () => {
    const rows = await dataSource.query<Array<{ name: string; checksum: string }>>(
      `SELECT name, checksum FROM schema_functions ORDER BY name`,
    );
    expect(rows).toEqual(
      [...SCHEMA.functions]
        .sort((a, b) => a.name.localeCompare(b.name))
        .map(({ name, checksum }) => ({ name, checksum })),
    );
    expect(await pending(SCHEMA.functions)).toEqual({ apply: [], drop: [] });
  });

  it('re-creates a function whose file changed, even with other arguments, and only then', async () => {
    const files = [...SCHEMA.functions, probe('one')];
    expect(await apply(files)).toEqual(['zz_probe']);
    expect(await call('zz_probe(1)')).toBe('one');
    expect(await apply(files)).toEqual([]);

    const changed = [...SCHEMA.functions, probe('two', 'p_x text')];
    expect(await pending(changed)).toMatchObject({
      apply: [{ name: 'zz_probe' }],
      drop: [],
    });
    expect(await apply(changed)).toEqual(['zz_probe']);
    expect(await call(`zz_probe('a')`)).toBe('two');
    // The old overload is gone, not left beside the new one.
    await expect(call('zz_probe(1)')).rejects.toThrow(/does not exist/);
  });

  it('drops a function whose file is gone', async () => {
    await apply([...SCHEMA.functions, probe('one')]);
    expect(await pending(SCHEMA.functions)).toEqual({
      apply: [],
      drop: ['zz_probe'],
    });
    expect(await apply(SCHEMA.functions)).toEqual([]);
    await expect(call('zz_probe(1)')).rejects.toThrow(/does not exist/);
    expect(
      await dataSource.query(`SELECT name FROM schema_functions WHERE name = 'zz_probe'`),
    ).toEqual([]);
  });

  it('applies all or nothing: a broken file leaves every function as it was', async () => {
    await apply([...SCHEMA.functions, probe('one')]);
    const broken = sqlFunctionFile(
      'zz_broken',
      'CREATE FUNCTION zz_broken() RETURNS int LANGUAGE sql AS $$ SELEC 1 $$;',
    );
    await expect(apply([...SCHEMA.functions, probe('two'), broken])).rejects.toThrow(
      /syntax error/,
    );
    expect(await call('zz_probe(1)')).toBe('one');
    expect(
      await dataSource.query(`SELECT name FROM schema_functions WHERE name LIKE 'zz_%'`),
    ).toEqual([{ name: 'zz_probe' }]);
  });

  it('are left as they are by a build older than the database (a rollback, a stale pod)', async () => {
    const stale = async () =>
      (
        await dataSource.query<Array<{ checksum: string }>>(
          `SELECT checksum FROM schema_functions WHERE name = 'otp_issue'`,
        )
      )[0].checksum;
    await dataSource.query(
      `UPDATE schema_functions SET checksum = repeat('0', 64) WHERE name = 'otp_issue'`,
    );
    await dataSource.query(
      `INSERT INTO migrations (timestamp, name) VALUES (9999999999999, 'FromANewerBuild9999999999999')`,
    );
    await dataSource.runMigrations();
    expect(await stale()).toBe('0'.repeat(64));

    await dataSource.query(`DELETE FROM migrations WHERE name = 'FromANewerBuild9999999999999'`);
    await dataSource.runMigrations();
    expect(await stale()).toBe(
      SCHEMA.functions.find((file) => file.name === 'otp_issue')?.checksum,
    );
  });
});
