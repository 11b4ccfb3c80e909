import { randomBytes, randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { CodeHasher } from '@app/otp';
import { randomAuthCode, randomCode, type BenchUser } from './identities';

const BENCH_DATABASE = /^otp_link_bench_[a-z0-9_]+$/;
const SEED_BATCH = 5000;
const CONNECT_TIMEOUT_MS = 5000;

async function withClient<T>(url: string, work: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** The URL of database `name` on the server of `adminUrl`. */
export function databaseUrl(adminUrl: string, name: string): string {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

export function newDatabaseName(): string {
  return `otp_link_bench_${new Date().toISOString().slice(0, 10).replace(/-/g, '')}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

function checkName(name: string): void {
  // Only bench databases are ever created or dropped, and the name is interpolated into SQL.
  if (!BENCH_DATABASE.test(name)) throw new Error(`refusing database name ${name}`);
}

export async function createDatabase(adminUrl: string, name: string): Promise<void> {
  checkName(name);
  await withClient(adminUrl, (client) => client.query(`CREATE DATABASE "${name}"`));
}

export async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  checkName(name);
  await withClient(adminUrl, (client) =>
    client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
  );
}

/** A challenge seeded straight into otp_challenges, with the code that verifies it. */
export interface SeededChallenge {
  user: BenchUser;
  authCode: string;
  code: string;
}

/**
 * Live challenges for `users`, as register would leave them (status pending, no attempts) but
 * expiring a day ahead, so none expires during the run. The hash is the server's own
 * CodeHasher with the OTP_SECRET the server was given.
 */
export async function seedChallenges(
  url: string,
  otpSecret: string,
  otpLength: number,
  users: BenchUser[],
): Promise<SeededChallenge[]> {
  const hasher = new CodeHasher(otpSecret);
  const seeded: SeededChallenge[] = users.map((user) => ({
    user,
    authCode: randomAuthCode(),
    code: randomCode(otpLength),
  }));
  await withClient(url, async (client) => {
    for (let start = 0; start < seeded.length; start += SEED_BATCH) {
      const batch = seeded.slice(start, start + SEED_BATCH);
      const ids = batch.map(() => randomUUID());
      await client.query(
        `INSERT INTO otp_challenges
           (id, client_id, user_id, target, auth_code, code_hash, status, attempts, send_count,
            last_sent_at, expires_at, created_at)
         SELECT t.id, t.client_id, t.user_id, t.target, t.auth_code, decode(t.code_hash, 'hex'),
                'pending', 0, 1, now(), now() + interval '1 day', now()
           FROM unnest($1::uuid[], $2::varchar[], $3::varchar[], $4::varchar[], $5::varchar[],
                       $6::text[]) AS t(id, client_id, user_id, target, auth_code, code_hash)`,
        [
          ids,
          batch.map((s) => s.user.clientId),
          batch.map((s) => s.user.userId),
          batch.map((s) => s.user.e164),
          batch.map((s) => s.authCode),
          batch.map((s, i) => hasher.hash(ids[i], s.code).toString('hex')),
        ],
      );
    }
  });
  return seeded;
}

/** Links `users` to their phones, as a successful verify would leave them. */
export async function seedLinks(url: string, users: BenchUser[]): Promise<void> {
  await withClient(url, async (client) => {
    for (let start = 0; start < users.length; start += SEED_BATCH) {
      const batch = users.slice(start, start + SEED_BATCH);
      await client.query(
        `WITH t AS (
           SELECT * FROM unnest($1::varchar[], $2::varchar[], $3::varchar[], $4::varchar[])
                      AS t(client_id, user_id, wallet_address, phone_e164)),
         p AS (INSERT INTO phone_users (phone_e164) SELECT phone_e164 FROM t
               RETURNING id, phone_e164),
         u AS (INSERT INTO third_party_users (client_id, user_id, wallet_address, client_name)
               SELECT client_id, user_id, wallet_address, 'Ludo' FROM t
               RETURNING id, client_id, user_id)
         INSERT INTO links (third_party_user_id, phone_user_id, client_id)
         SELECT u.id, p.id, t.client_id
           FROM t JOIN p ON p.phone_e164 = t.phone_e164
                  JOIN u ON u.client_id = t.client_id AND u.user_id = t.user_id`,
        [
          batch.map((u) => u.clientId),
          batch.map((u) => u.userId),
          batch.map((u) => u.walletAddress),
          batch.map((u) => u.e164),
        ],
      );
    }
  });
}

/** Fresh planner statistics after seeding, as a long-running database would have. */
export async function analyze(url: string): Promise<void> {
  await withClient(url, (client) => client.query('ANALYZE'));
}

/**
 * Cleans up after a scenario (dead rows, visibility, statistics) before the next is measured, so
 * autovacuum working off one scenario's writes is not counted as the next one's database CPU.
 */
export async function vacuum(url: string): Promise<void> {
  await withClient(url, (client) => client.query('VACUUM (ANALYZE)'));
}

/** The scratch table of the database floor. */
export async function createScratchTable(url: string): Promise<void> {
  await withClient(url, (client) =>
    client.query(
      `CREATE TABLE bench_scratch (
         id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
         payload text NOT NULL,
         created_at timestamptz NOT NULL DEFAULT now())`,
    ),
  );
}

/** Connections to `name` by application, to spot a pool that grows or leaks. */
export async function connectionsTo(
  adminUrl: string,
  name: string,
): Promise<Record<string, number>> {
  return withClient(adminUrl, async (client) => {
    const { rows } = await client.query<{ application_name: string; n: number }>(
      `SELECT application_name, count(*)::int AS n FROM pg_stat_activity
        WHERE datname = $1 AND pid <> pg_backend_pid() GROUP BY 1`,
      [name],
    );
    return Object.fromEntries(rows.map((row) => [row.application_name || '(none)', row.n]));
  });
}

/** Row counts of every table, for the record (exact: the statistics views lag behind). */
export async function tableCounts(url: string): Promise<Record<string, number>> {
  return withClient(url, async (client) => {
    const { rows: tables } = await client.query<{ name: string }>(
      `SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`,
    );
    const counts: Record<string, number> = {};
    for (const { name } of tables) {
      const { rows } = await client.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM "${name.replace(/"/g, '""')}"`,
      );
      counts[name] = rows[0].n;
    }
    return counts;
  });
}

/** Outbox messages by status: anything but `sent` after a run means a delivery went wrong. */
export async function outboxStatuses(url: string): Promise<Record<string, number>> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM outbox_messages GROUP BY status ORDER BY status`,
    );
    return Object.fromEntries(rows.map((row) => [row.status, row.n]));
  });
}

/**
 * A history of past challenges and sends, as months of traffic would leave them, numbered from
 * `from` (so later calls add new values): 20 partner clients, a user per 3 rows, a phone per 2
 * (Indian mobiles, so their prefixes mix with the bench's own), created over the last 6 hours
 * with a 5-minute TTL, so most are expired and about a sixth fall in the hourly windows. Mostly
 * pending, some verified or locked. Sends follow the same spread.
 */
export async function seedHistory(
  url: string,
  from: number,
  counts: { challenges: number; sends: number },
): Promise<void> {
  const rows = `FROM generate_series($1::bigint, $2::bigint - 1) AS i,
         LATERAL (SELECT 'growth-client-' || (i % 20) AS client_id,
                         'growth-user-' || (i / 3) AS user_id,
                         '+919' || lpad(((i / 2) * 387420489 % 1000000000)::text, 9, '0') AS phone,
                         now() - (i * 7919 % 21600) * interval '1 second' AS at) AS r`;
  await withClient(url, async (client) => {
    await client.query(
      `INSERT INTO otp_challenges
         (client_id, user_id, target, auth_code, code_hash, status, attempts, send_count,
          last_sent_at, expires_at, verified_at, created_at)
       SELECT r.client_id, r.user_id, r.phone, (10000000 + i * 7919 % 90000000)::text,
              sha256(i::text::bytea),
              CASE WHEN i % 10 < 7 THEN 'pending' WHEN i % 10 < 9 THEN 'verified' ELSE 'locked' END,
              i % 4, 1 + i % 2, r.at, r.at + interval '5 minutes',
              CASE WHEN i % 10 BETWEEN 7 AND 8 THEN r.at + interval '1 minute' END, r.at
       ${rows}`,
      [from, from + Math.max(0, counts.challenges)],
    );
    await client.query(
      `INSERT INTO otp_sends (challenge_id, client_id, user_id, target, target_block, sent_at)
       SELECT gen_random_uuid(), r.client_id, r.user_id, r.phone, left(r.phone, -4), r.at
       ${rows}`,
      [from, from + Math.max(0, counts.sends)],
    );
  });
}

/** Exact row counts of the tables that grow with traffic. */
export async function historyCounts(url: string): Promise<{ challenges: number; sends: number }> {
  return withClient(url, async (client) => {
    const { rows } = await client.query<{ challenges: number; sends: number }>(
      `SELECT (SELECT count(*)::int FROM otp_challenges) AS challenges,
              (SELECT count(*)::int FROM otp_sends) AS sends`,
    );
    return rows[0];
  });
}
