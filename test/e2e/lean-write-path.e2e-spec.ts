import { DataSource, QueryRunner } from 'typeorm';
import { onRunner, openTestDataSource } from '../support/test-database';

/**
 * A register as the API makes it, in SQL (every limit out of reach): a new user of `client`
 * and a new phone, numbered `n`.
 */
const REGISTER = `
  SELECT outcome FROM phone_link_request_code(
    p_client_id => $1::varchar, p_user_id => 'u' || $2::text, p_phone => '+9198' || lpad($2::text, 8, '0'),
    p_probes => jsonb_build_object('client_id', $1::varchar, 'user_id', 'u' || $2::text, 'now', now(),
                                   'max_per_user', 1000, 'max_per_client', 1000),
    p_issue => jsonb_build_object(
      'client_id', $1::varchar, 'user_id', 'u' || $2::text, 'target', '+9198' || lpad($2::text, 8, '0'),
      'target_kind', 'phone', 'block', '+919800', 'channel', 'sms', 'now', now(),
      'expires_at', now() + interval '5 minutes', 'challenge_id', gen_random_uuid(),
      'live_id', NULL, 'auth_code', lpad($2::text, 8, '1'), 'code_hash', '\\x00', 'cooldown_seconds', 0,
      'max_attempts', 5, 'max_per_target', 1000, 'max_per_owner', 1000, 'max_per_block', 1000,
      'max_per_service', 100000, 'client_budget', 100000, 'budget_margin', 200, 'region', 'IN',
      'pumping_min_sends', 1000000, 'pumping_min_conversion', 0.2),
    p_message => jsonb_build_object(
      'channel', 'sms', 'recipient', '+9198' || lpad($2::text, 8, '0'), 'payload', '\\x00',
      'lease_until', now() + interval '30 seconds', 'expires_at', now() + interval '5 minutes',
      'created_at', now(), 'audit', '{}'::jsonb),
    p_target_masked => '+91******000', p_target_hash => '\\x00'::bytea, p_ip => '127.0.0.1')`;

/** What issue 20 changed in the register's writes, on a freshly migrated database. */
describe('the lean write path', () => {
  let dataSource: DataSource;
  let close: () => Promise<void>;

  const withRunner = <T>(work: (runner: QueryRunner) => Promise<T>) => onRunner(dataSource, work);

  beforeEach(async () => {
    ({ dataSource, close } = await openTestDataSource(2));
  });

  afterEach(() => close());

  it("counts a session's sends in its own backend's counter row of each scope", async () => {
    const shard = await withRunner(async (runner) => {
      for (const n of ['1', '2', '3']) {
        expect(await runner.query(REGISTER, ['client-a', n])).toEqual([{ outcome: 'issued' }]);
      }
      const [row] = (await runner.query(`SELECT (pg_backend_pid() % 8)::int AS shard`)) as Array<{
        shard: number;
      }>;
      return row.shard;
    });

    const counts = await dataSource.query<Array<{ scope: string; shard: number; sends: number }>>(
      `SELECT scope, shard, sends FROM otp_send_counts ORDER BY scope`,
    );
    // One row per scope, all on this session's shard: three registers never took three rows.
    expect(counts).toEqual(
      ['block:+919800', 'client:client-a', 'region:IN', 'service'].map((scope) => ({
        scope,
        shard,
        sends: 3,
      })),
    );
  });

  it("plans a user's hourly counts on the user's index from the first request", async () => {
    // A fresh install: no statistics yet. A generic plan is what each pooled session keeps; with
    // sequential scans priced out, the index the planner picks is the one it would keep.
    const plans = await withRunner(async (runner) => {
      await runner.startTransaction();
      try {
        await runner.query(`SET LOCAL enable_seqscan = off`);
        await runner.query(`SET LOCAL plan_cache_mode = force_generic_plan`);
        const plan = async (sql: string) => {
          await runner.query(`PREPARE count_plan(varchar, varchar, timestamptz) AS ${sql}`);
          const rows = (await runner.query(
            `EXPLAIN EXECUTE count_plan('client-a', 'u1', now())`,
          )) as Array<{ 'QUERY PLAN': string }>;
          await runner.query(`DEALLOCATE count_plan`);
          return rows.map((row) => row['QUERY PLAN']).join('\n');
        };
        return {
          sends: await plan(`SELECT count(*) FROM (SELECT 1 FROM otp_sends
             WHERE client_id = $1 AND user_id = $2 AND sent_at > $3 LIMIT 5) w`),
          probes: await plan(`SELECT count(*) FROM (SELECT probed_at FROM link_probes
             WHERE client_id = $1 AND user_id = $2 AND probed_at > $3
             ORDER BY probed_at LIMIT 5) w`),
        };
      } finally {
        await runner.rollbackTransaction();
      }
    });

    // Not a client-wide index: that plan read every send of the client for each register.
    expect(plans.sends).toContain('ix_otp_sends_user');
    expect(plans.probes).toContain('ix_link_probes_user');
  });

  it('inlines every SQL-language function into the statement that calls it', async () => {
    // A SQL function PostgreSQL cannot inline (a body less constant than the function claims,
    // sub-selects in a scalar function, a write) is parsed and planned on every call: one such
    // bucket function cost a register up to a quarter of its database time. Each is called
    // on a table's columns, so that nothing folds into a constant.
    const notInlined = await withRunner(async (runner) => {
      const functions = (await runner.query(
        `SELECT p.proname AS name, p.proretset OR p.prorettype = 'record'::regtype AS relation,
                coalesce((SELECT array_agg(format_type(t, NULL) ORDER BY n)
                            FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY a(t, n)),
                         '{}') AS types
           FROM pg_proc p JOIN pg_language l ON l.oid = p.prolang
          WHERE l.lanname = 'sql' AND p.pronamespace = 'public'::regnamespace
          ORDER BY p.proname`,
      )) as Array<{ name: string; relation: boolean; types: string[] }>;
      expect(functions.map((f) => f.name)).toContain('otp_send_bucket');
      const found: string[] = [];
      for (const { name, relation, types } of functions) {
        const columns = types.map((type, i) => `NULL::${type} AS a${i}`);
        await runner.query(`DROP TABLE IF EXISTS pg_temp.call_args`);
        await runner.query(
          `CREATE TEMP TABLE call_args AS SELECT ${['1 AS n', ...columns].join(', ')}`,
        );
        const call = `${name}(${types.map((_, i) => `v.a${i}`).join(', ')})`;
        const rows = (await runner.query(
          `EXPLAIN (VERBOSE, COSTS OFF) SELECT * FROM call_args v,
             LATERAL (SELECT ${relation ? '* FROM' : ''} ${call}) x`,
        )) as Array<{ 'QUERY PLAN': string }>;
        if (rows.some((row) => row['QUERY PLAN'].includes(`${name}(`))) found.push(name);
      }
      return found;
    });
    expect(notInlined).toEqual([]);
  });

  it("buckets the counters' times by the 5 minutes they fall in", async () => {
    const buckets = await dataSource.query<Array<{ bucket: string }>>(
      `SELECT to_char(otp_send_bucket(at) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS') AS bucket
         FROM unnest(ARRAY['2026-12-06 15:44:59.999+00', '2026-12-06 21:15:00+05:30',
                           '1969-12-31 23:58:00+00']::timestamptz[]) WITH ORDINALITY u(at, n)
        ORDER BY n`,
    );
    expect(buckets.map((row) => row.bucket)).toEqual([
      '2026-12-06 15:40:00',
      '2026-12-06 15:45:00',
      '1969-12-31 23:55:00',
    ]);
  });
});
