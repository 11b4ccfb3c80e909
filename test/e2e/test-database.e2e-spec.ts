import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { createTestDatabase, e2eDatabase, ensureDatabase } from '../support/test-database';

/** The tests' own databases: a new user's TEST_DATABASE_URL may name one that does not exist. */
describe('test databases', () => {
  const target = e2eDatabase();

  if (target === 'embedded') {
    it('the embedded project needs no server: an in-memory database per file', async () => {
      const database = await createTestDatabase({ migrate: false });
      expect(database.env).toEqual({ DATA_DIR: 'memory://' });
      await database.drop();
    });
    return;
  }

  it("creates TEST_DATABASE_URL's database when it is missing, and leaves an existing one", async () => {
    const url = new URL(target);
    const name = `otp_link_admin_${randomBytes(4).toString('hex')}`;
    url.pathname = `/${name}`;
    await ensureDatabase(url.toString());
    await ensureDatabase(url.toString());
    const client = new Client({ connectionString: url.toString() });
    await client.connect();
    const { rows } = await client.query<{ name: string }>('SELECT current_database() AS name');
    await client.end();
    expect(rows).toEqual([{ name }]);

    const admin = new Client({ connectionString: target });
    await admin.connect();
    await admin.query(`DROP DATABASE "${name}" WITH (FORCE)`);
    await admin.end();
  });
});
