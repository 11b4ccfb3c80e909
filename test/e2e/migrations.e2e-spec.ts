import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { buildDataSourceOptions, openEmbeddedDatabase } from '@app/database';
import { MIGRATIONS } from '@app/migrations';
import { SCHEMA } from '../../apps/api/src/entities';
import { createTestDatabase, e2eDatabase } from '../support/test-database';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const TABLES = [
  'audit_events',
  'links',
  'otp_challenges',
  'otp_send_counts',
  'otp_sends',
  'otp_verify_failures',
  'outbox_messages',
  'partner_client_keys',
  'partner_clients',
  'phone_users',
  'third_party_users',
];

async function hasColumn(dataSource: DataSource, table: string, column: string): Promise<boolean> {
  const rows = await dataSource.query<unknown[]>(
    `SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`,
    [table, column],
  );
  return rows.length === 1;
}

async function tables(dataSource: DataSource): Promise<string[]> {
  const rows = await dataSource.query<Array<{ name: string }>>(
    `SELECT table_name AS name FROM information_schema.tables
      WHERE table_schema = 'public' AND table_name <> 'migrations' ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

/** The service's own functions (the registry's trigger function aside). */
async function functions(dataSource: DataSource): Promise<string[]> {
  const rows = await dataSource.query<Array<{ name: string }>>(
    `SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
      WHERE n.nspname = 'public' AND p.proname <> 'partner_clients_notify' ORDER BY 1`,
  );
  return rows.map((row) => row.name);
}

describe('migrations', () => {
  if (e2eDatabase() === 'embedded') {
    it('apply at start on the embedded database, and revert cleanly', async () => {
      const embedded = await openEmbeddedDatabase('memory://');
      const dataSource = new DataSource(
        buildDataSourceOptions({ dataDir: 'memory://', poolSize: 1 }, SCHEMA, embedded.driver),
      );
      await dataSource.initialize(); // migrationsRun: true for the embedded database
      try {
        expect(await tables(dataSource)).toEqual(TABLES);
        await dataSource.undoLastMigration(); // the newest only
        expect(await tables(dataSource)).not.toContain('otp_send_counts');
        expect(await functions(dataSource)).toEqual([]);
        expect(await tables(dataSource)).toContain('partner_clients');
        for (let i = 1; i < MIGRATIONS.length; i++) await dataSource.undoLastMigration();
        expect(await tables(dataSource)).toEqual([]);
        await dataSource.runMigrations();
        expect(await tables(dataSource)).toEqual(TABLES);
        expect(await hasColumn(dataSource, 'outbox_messages', 'group_key')).toBe(true);
      } finally {
        await dataSource.destroy();
      }
    });
  } else {
    // The npm scripts operators use, against a brand-new PostgreSQL database.
    it('npm run migration:run / migration:show / migration:revert work on an empty database', async () => {
      const database = await createTestDatabase({ migrate: false });
      const env = { ...process.env, DATABASE_URL: database.env.DATABASE_URL };
      const npm = (script: string) => run('npm', ['run', '-s', script], { cwd: ROOT, env });
      const probe = new DataSource(
        buildDataSourceOptions(
          { url: database.env.DATABASE_URL, dataDir: '', poolSize: 1 },
          SCHEMA,
        ),
      );
      try {
        await npm('migration:run');
        await probe.initialize();
        expect(await tables(probe)).toEqual(TABLES);
        const shown = await npm('migration:show');
        expect(shown.stdout).toContain('[X]');
        expect(shown.stdout).toContain('InitialSchema1763900000000');
        expect(await functions(probe)).toContain('otp_request_code');
        await npm('migration:revert'); // the newest only
        expect(await tables(probe)).not.toContain('otp_send_counts');
        expect(await functions(probe)).toEqual([]);
        expect(await tables(probe)).toContain('partner_clients');
        expect((await npm('migration:show')).stdout).toMatch(
          /\[X\].*InitialSchema[\s\S]*\[X\].*PartnerRegistry[\s\S]*\[ \].*HotPathFunctions/,
        );
        for (let i = 1; i < MIGRATIONS.length; i++) await npm('migration:revert');
        expect(await tables(probe)).toEqual([]);
      } finally {
        if (probe.isInitialized) await probe.destroy();
        await database.drop();
      }
    }, 60_000);
  }
});
