import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { DataSource } from 'typeorm';
import { createDataSource, openEmbeddedDatabase } from '@app/database';
import { MIGRATIONS, SCHEMA } from '@app/migrations';
import { createTestDatabase, e2eDatabase, openTestDataSource } from '../support/test-database';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');
const TABLES = [
  'app_sessions',
  'audit_events',
  'auth_flows',
  'link_probes',
  'links',
  'otp_api_codes',
  'otp_api_guesses',
  'otp_api_limits',
  'otp_challenges',
  'otp_send_counts',
  'otp_sends',
  'otp_verify_failures',
  'outbox_messages',
  'partner_app_keys',
  'partner_client_keys',
  'partner_clients',
  'phone_users',
  'schema_functions',
  'session_refresh_tokens',
  'third_party_users',
  'token_signing_keys',
];
/** What HotPathFunctions made, before each lib kept its functions in `sql/`. */
const HOT_PATH_FUNCTIONS = [
  'link_state',
  'otp_count_wrong_code',
  'otp_link_verified',
  'otp_request_code',
  'otp_send_bucket',
  'otp_verify_state',
  'otp_window',
];
/** The functions of every lib's `sql/`. */
const FUNCTIONS = SCHEMA.functions.map((file) => file.name).sort();

async function hasColumn(dataSource: DataSource, table: string, column: string): Promise<boolean> {
  const rows = await dataSource.query<unknown[]>(
    `SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2`,
    [table, column],
  );
  return rows.length === 1;
}

/** The name of the newest migration applied. */
async function newestMigration(dataSource: DataSource): Promise<string> {
  const [row] = await dataSource.query<Array<{ name: string }>>(
    `SELECT name FROM migrations ORDER BY id DESC LIMIT 1`,
  );
  return row.name;
}

/** Reverts, newest first, every migration after `name` (migrations newer than this test's). */
async function revertAfter(dataSource: DataSource, name: string, revert: () => Promise<unknown>) {
  for (let i = 0; i < MIGRATIONS.length && (await newestMigration(dataSource)) !== name; i++) {
    await revert();
  }
  expect(await newestMigration(dataSource)).toBe(name);
}

/** Reverts every migration still applied, newest first. */
async function revertAll(dataSource: DataSource, revert: () => Promise<unknown>) {
  const applied = async () =>
    (await dataSource.query<Array<{ n: number }>>(`SELECT count(*)::int AS n FROM migrations`))[0]
      .n;
  for (let left = await applied(); left > 0; left--) await revert();
  expect(await applied()).toBe(0);
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
      const dataSource = createDataSource(
        { dataDir: 'memory://', poolSize: 1 },
        SCHEMA,
        embedded.driver,
      );
      await dataSource.initialize(); // migrationsRun: true for the embedded database
      try {
        expect(await tables(dataSource)).toEqual(TABLES);
        expect(await functions(dataSource)).toEqual(FUNCTIONS);
        await revertAfter(dataSource, 'TokenSigningKeys1765000100000', () =>
          dataSource.undoLastMigration(),
        );
        await dataSource.undoLastMigration(); // TokenSigningKeys
        expect(await tables(dataSource)).not.toContain('token_signing_keys');
        await dataSource.undoLastMigration(); // AppSessions
        expect(await tables(dataSource)).not.toContain('app_sessions');
        expect(await tables(dataSource)).not.toContain('session_refresh_tokens');
        expect(await hasColumn(dataSource, 'outbox_messages', 'after_id')).toBe(true);
        await dataSource.undoLastMigration(); // ChannelFallback
        expect(await hasColumn(dataSource, 'outbox_messages', 'after_id')).toBe(false);
        await dataSource.undoLastMigration(); // AbuseGuards
        expect(await tables(dataSource)).not.toContain('link_probes');
        await dataSource.undoLastMigration(); // EngineTargets: the previous functions are back
        expect(await tables(dataSource)).not.toContain('schema_functions');
        expect(await functions(dataSource)).toEqual(HOT_PATH_FUNCTIONS);
        await dataSource.undoLastMigration();
        expect(await tables(dataSource)).not.toContain('otp_send_counts');
        expect(await functions(dataSource)).toEqual([]);
        expect(await tables(dataSource)).toContain('partner_clients');
        await revertAll(dataSource, () => dataSource.undoLastMigration());
        expect(await tables(dataSource)).toEqual([]);
        await dataSource.runMigrations();
        expect(await tables(dataSource)).toEqual(TABLES);
        expect(await functions(dataSource)).toEqual(FUNCTIONS);
        expect(await hasColumn(dataSource, 'outbox_messages', 'group_key')).toBe(true);
      } finally {
        await dataSource.destroy();
      }
    });
  } else {
    // The npm scripts operators use, against a brand-new PostgreSQL database: a run of
    // ts-node per migration, seconds each on a busy machine.
    it('npm run migration:run / migration:show / migration:revert work on an empty database', async () => {
      const database = await createTestDatabase({ migrate: false });
      const env = { ...process.env, DATABASE_URL: database.env.DATABASE_URL };
      const npm = (script: string) => run('npm', ['run', '-s', script], { cwd: ROOT, env });
      const probe = createDataSource(
        { url: database.env.DATABASE_URL, dataDir: '', poolSize: 1 },
        SCHEMA,
      );
      try {
        await npm('migration:run');
        await probe.initialize();
        expect(await tables(probe)).toEqual(TABLES);
        const shown = await npm('migration:show');
        expect(shown.stdout).toContain('[X]');
        expect(shown.stdout).toContain('InitialSchema1763900000000');
        expect(shown.stdout).not.toContain('[ ]');
        expect(await functions(probe)).toEqual(FUNCTIONS);
        const newest = await newestMigration(probe);
        await npm('migration:revert'); // the newest only
        expect(await newestMigration(probe)).not.toBe(newest);
        // The rest in-process (a ts-node start per revert made this test minutes long); the
        // script's own revert ran above and its show runs below.
        const revert = () => probe.undoLastMigration();
        await revertAfter(probe, 'TokenSigningKeys1765000100000', revert);
        await revert();
        expect(await tables(probe)).not.toContain('token_signing_keys');
        expect(await tables(probe)).toContain('app_sessions');
        await revert();
        expect(await tables(probe)).not.toContain('app_sessions');
        await revert();
        expect(await hasColumn(probe, 'outbox_messages', 'after_id')).toBe(false);
        expect(await tables(probe)).toContain('link_probes');
        await revert();
        expect(await tables(probe)).not.toContain('link_probes');
        await revert();
        expect(await tables(probe)).not.toContain('schema_functions');
        expect(await functions(probe)).toEqual(HOT_PATH_FUNCTIONS);
        await revert();
        expect(await tables(probe)).not.toContain('otp_send_counts');
        expect(await functions(probe)).toEqual([]);
        expect(await tables(probe)).toContain('partner_clients');
        expect((await npm('migration:show')).stdout).toMatch(
          /\[X\].*InitialSchema[\s\S]*\[X\].*PartnerRegistry[\s\S]*\[ \].*HotPathFunctions[\s\S]*\[ \].*EngineTargets[\s\S]*\[ \].*AbuseGuards[\s\S]*\[ \].*ChannelFallback[\s\S]*\[ \].*AppSessions[\s\S]*\[ \].*TokenSigningKeys[\s\S]*\[ \].*OtpApi/,
        );
        await revertAll(probe, revert);
        expect(await tables(probe)).toEqual([]);
      } finally {
        if (probe.isInitialized) await probe.destroy();
        await database.drop();
      }
    }, 300_000); // four npm script runs
  }

  describe('on a migrated database', () => {
    let dataSource: DataSource;
    let close: () => Promise<void>;

    beforeEach(async () => {
      ({ dataSource, close } = await openTestDataSource(1, 'migrations'));
    });
    afterEach(() => close());

    it('the entities describe the migrated schema: TypeORM would change nothing', async () => {
      const pending = await dataSource.driver.createSchemaBuilder().log();
      expect(pending.upQueries.map((query) => query.query)).toEqual([]);
    });

    it("AppSignInOwners takes the numbers out of the trail's and the queued messages' user ids", async () => {
      const hash = Buffer.from('0123456789abcdef0123456789abcdef', 'hex');
      // 'app' signs users in (it has an app key); 'ludo' only links its own users, one of whom
      // it happens to name like a phone.
      await dataSource.query(
        `INSERT INTO partner_clients (id, name, api_secret_hash)
         VALUES ('app', 'App', '\\x00'), ('ludo', 'Ludo', '\\x00')`,
      );
      await dataSource.query(
        `INSERT INTO partner_app_keys (id, client_id, key_hash) VALUES ('ak_1', 'app', '\\x01')`,
      );
      await dataSource.query(
        `INSERT INTO audit_events (event, client_id, user_id, target_masked, target_hash)
         VALUES ('requested', 'app', 'phone:+919876543219', '+91******219', $1),
                ('requested', 'app', 'phone:+919876543218', NULL, NULL),
                ('requested', 'ludo', 'asha', '+91******217', $1),
                ('requested', 'ludo', 'phone:+919876543216', '+91******216', $1),
                ('requested', 'app', 'phone:+91 not a number', NULL, NULL)`,
        [hash],
      );
      await dataSource.query(
        `INSERT INTO outbox_messages (channel, recipient, status, attempts, next_attempt_at,
           expires_at, audit, created_at)
         VALUES ('sms', '+919876543219', 'pending', 1, now(), now(), $1, now()),
                ('sms', '+919876543217', 'pending', 1, now(), now(), $2, now())`,
        [
          JSON.stringify({ clientId: 'app', userId: 'phone:+919876543219', ip: '10.0.0.1' }),
          JSON.stringify({ clientId: 'ludo', userId: 'asha' }),
        ],
      );

      const migration = MIGRATIONS.find((m) => m.name === 'AppSignInOwners1765006000000');
      const runner = dataSource.createQueryRunner();
      try {
        await new migration!().up(runner);
      } finally {
        await runner.release();
      }

      expect(await dataSource.query(`SELECT user_id FROM audit_events ORDER BY id`)).toEqual([
        { user_id: 'phone:0123456789abcdef0123456789abcdef' },
        { user_id: null },
        { user_id: 'asha' },
        { user_id: 'phone:+919876543216' },
        { user_id: 'phone:+91 not a number' },
      ]);
      expect(
        await dataSource.query(`SELECT audit FROM outbox_messages ORDER BY recipient`),
      ).toEqual([
        { audit: { clientId: 'ludo', userId: 'asha' } },
        { audit: { clientId: 'app', ip: '10.0.0.1' } },
      ]);
    });

    // EngineTargets renames and moves; rows written by the previous schema must survive it both
    // ways. The rows below are what that schema's register, wrong code and verify left.
    it('EngineTargets keeps the rows of the previous schema, and gives them back on revert', async () => {
      await revertAfter(dataSource, 'EngineTargets1764900000000', () =>
        dataSource.undoLastMigration(),
      );
      await dataSource.undoLastMigration(); // EngineTargets
      const old = await previousSchemaRows(dataSource);

      await dataSource.runMigrations();
      expect(await functions(dataSource)).toEqual(FUNCTIONS);
      expect(
        await dataSource.query(
          `SELECT target, target_kind, channel, status, attempts FROM otp_challenges ORDER BY id`,
        ),
      ).toEqual([
        {
          target: old.phone,
          target_kind: 'phone',
          channel: 'sms',
          status: 'verified',
          attempts: 1,
        },
        { target: old.phone, target_kind: 'phone', channel: 'sms', status: 'pending', attempts: 0 },
      ]);
      expect(await dataSource.query(`SELECT target, target_block, channel FROM otp_sends`)).toEqual(
        [{ target: old.phone, target_block: old.block, channel: 'sms' }],
      );
      expect(await dataSource.query(`SELECT target FROM otp_verify_failures`)).toEqual([
        { target: old.phone },
      ]);
      expect(
        await dataSource.query(`SELECT challenge_id, phone_user_created FROM links ORDER BY id`),
      ).toEqual([
        { challenge_id: old.verifiedChallenge, phone_user_created: true },
        { challenge_id: null, phone_user_created: false },
      ]);
      const [event] = await dataSource.query<Array<{ target_masked: string; target_hash: Buffer }>>(
        `SELECT target_masked, target_hash FROM audit_events`,
      );
      expect(event.target_masked).toBe(old.masked);
      expect(Buffer.from(event.target_hash).equals(old.hash)).toBe(true);

      await revertAfter(dataSource, 'EngineTargets1764900000000', () =>
        dataSource.undoLastMigration(),
      );
      await dataSource.undoLastMigration(); // EngineTargets
      expect(
        await dataSource.query(
          `SELECT phone_e164, result_phone_user_id, result_is_new_user FROM otp_challenges
            ORDER BY id`,
        ),
      ).toEqual([
        { phone_e164: old.phone, result_phone_user_id: old.phoneUser, result_is_new_user: true },
        { phone_e164: old.phone, result_phone_user_id: null, result_is_new_user: null },
      ]);
      expect(await dataSource.query(`SELECT phone_e164, phone_prefix FROM otp_sends`)).toEqual([
        { phone_e164: old.phone, phone_prefix: old.block },
      ]);
      expect(await dataSource.query(`SELECT phone_masked FROM audit_events`)).toEqual([
        { phone_masked: old.masked },
      ]);
      expect(await functions(dataSource)).toEqual(HOT_PATH_FUNCTIONS);
    });
  });
});

/**
 * Rows in the shape HotPathFunctions' schema kept them: a verified challenge with its answer and
 * link, a pending one, a send, a failed verify, an audit event, and a link without a challenge.
 */
async function previousSchemaRows(dataSource: DataSource) {
  const phone = '+919876543219';
  const block = '+91987654';
  const masked = '+91******219';
  const hash = Buffer.alloc(32, 7);
  const [verified, pending] = [
    '00000000-0000-4000-8000-000000000001',
    '00000000-0000-4000-8000-000000000002',
  ];
  const [{ id: phoneUser }] = await dataSource.query<Array<{ id: string }>>(
    `INSERT INTO phone_users (phone_e164) VALUES ($1) RETURNING id`,
    [phone],
  );
  await dataSource.query(
    `INSERT INTO otp_challenges (id, client_id, user_id, phone_e164, auth_code, code_hash, status,
       attempts, last_sent_at, expires_at, verified_at, result_phone_user_id, result_is_new_user)
     VALUES ($1, 'ludo', 'asha', $3, '12345678', '\\x01', 'verified', 1, now(), now(), now(), $4, true),
            ($2, 'ludo', 'ravi', $3, '23456789', '\\x02', 'pending', 0, now(), now(), NULL, NULL, NULL)`,
    [verified, pending, phone, phoneUser],
  );
  await dataSource.query(
    `INSERT INTO otp_sends (challenge_id, client_id, user_id, phone_e164, phone_prefix, sent_at)
     VALUES ($1, 'ludo', 'ravi', $2, $3, now())`,
    [pending, phone, block],
  );
  await dataSource.query(
    `INSERT INTO otp_verify_failures (phone_e164, challenge_id, failed_at) VALUES ($1, $2, now())`,
    [phone, verified],
  );
  await dataSource.query(
    `INSERT INTO audit_events (event, client_id, user_id, phone_masked, phone_hash)
     VALUES ('requested', 'ludo', 'ravi', $1, $2)`,
    [masked, hash],
  );
  const users = await dataSource.query<Array<{ id: string }>>(
    `INSERT INTO third_party_users (client_id, user_id) VALUES ('ludo', 'asha'), ('snake', 'asha')
     RETURNING id`,
  );
  await dataSource.query(
    `INSERT INTO links (id, third_party_user_id, phone_user_id, client_id, challenge_id)
     VALUES ('00000000-0000-4000-8000-00000000000a', $1, $3, 'ludo', $4),
            ('00000000-0000-4000-8000-00000000000b', $2, $3, 'snake', NULL)`,
    [users[0].id, users[1].id, phoneUser, verified],
  );
  return { phone, block, masked, hash, phoneUser, verifiedChallenge: verified };
}
