import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The hot paths as one database call each (the performance issue: register took 10 round trips,
 * verify 8). Each function runs in the caller's implicit transaction, so it is as atomic as the
 * transactions it replaces; under READ COMMITTED every statement inside takes a fresh snapshot,
 * so counts read after an advisory lock are exact, as before.
 *
 * One function per rule owner, composed here: `link_state` (users: the linking rules) and the
 * `otp_*` functions (the challenge engine, which writes its code's outbox message with it). The
 * services call them; what the database computes, the services no longer repeat.
 *
 * Helpers that run statements are PL/pgSQL, not SQL functions: PostgreSQL (before 18) parses
 * and plans a SQL function's body on every call unless it can inline it, while PL/pgSQL keeps
 * each statement's plan for the session (measured: parsing was the top item of a profile).
 *
 * Time is the caller's clock (`p_now`), as everywhere in the service; audit rows are stamped
 * with the database's now(), as the service's own audit writes were with the real time. The
 * result columns of RETURNS TABLE are PL/pgSQL variables too: `#variable_conflict use_column`
 * lets a bare name mean the table's column (parameters and locals are all p_/v_ named).
 */
/**
 * What a code sent writes after its challenge (the CTE `c`, updated or inserted): its send, the
 * budgets' counters, the outbox message and the `requested` audit event, with the challenge's and
 * the message's ids into v_challenge and v_message. Nothing when `c` wrote no row.
 */
const SEND_WRITES = `s AS (
                 INSERT INTO otp_sends
                   (challenge_id, client_id, user_id, phone_e164, phone_prefix, sent_at)
                 SELECT c.id, p_client_id, p_user_id, p_phone, p_prefix, p_now FROM c),
               k AS (
                 INSERT INTO otp_send_counts (scope, bucket, shard, sends)
                 SELECT scope, otp_send_bucket(p_now), floor(random() * 8)::smallint, 1
                   FROM c, (VALUES ('service'), ('client:' || p_client_id)) v(scope)
                 ON CONFLICT ON CONSTRAINT pk_otp_send_counts
                   DO UPDATE SET sends = otp_send_counts.sends + 1),
               o AS (
                 INSERT INTO outbox_messages
                   (channel, recipient, payload, status, attempts, next_attempt_at, expires_at,
                    audit, created_at, group_key)
                 SELECT p_channel, p_phone, p_payload, 'pending', 1, p_lease_until, p_expires_at,
                        p_message_audit, p_now, 'otp:' || c.id FROM c
                 RETURNING id),
               a AS (
                 INSERT INTO audit_events
                   (event, client_id, user_id, phone_masked, phone_hash, ip, challenge_id,
                    created_at)
                 SELECT 'requested', p_client_id, p_user_id, p_phone_masked, p_phone_hash, p_ip,
                        c.id, now() FROM c)
          SELECT c.id, o.id INTO v_challenge, v_message FROM c, o`;

export class HotPathFunctions1763900400000 implements MigrationInterface {
  name = 'HotPathFunctions1763900400000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    // What the linking rules (spec §4) say about (user, phone) right now. Every lookup goes by a
    // unique index from the values given (the phone identity first, then its link in the
    // client): a generic plan of a prepared statement must not scan a client's links.
    await queryRunner.query(`
      CREATE FUNCTION link_state(p_client_id varchar, p_user_id varchar, p_phone varchar)
      RETURNS TABLE (account_linked boolean, link_challenge_id uuid, phone_linked boolean,
                     phone_known boolean)
      LANGUAGE sql STABLE AS $$
        SELECT own.id IS NOT NULL,
               own.challenge_id,
               EXISTS (SELECT 1 FROM links l
                        WHERE l.client_id = p_client_id AND l.phone_user_id = phone.id
                          AND l.third_party_user_id IS DISTINCT FROM own.third_party_user_id),
               phone.id IS NOT NULL
          FROM (SELECT 1) one
          LEFT JOIN (SELECT id FROM phone_users WHERE phone_e164 = p_phone) phone ON true
          LEFT JOIN (SELECT l.id, l.challenge_id, l.third_party_user_id
                       FROM third_party_users t JOIN links l ON l.third_party_user_id = t.id
                      WHERE t.client_id = p_client_id AND t.user_id = p_user_id) own ON true
      $$`);

    // Room on every page for a challenge's updates (attempts, status, a resent code): an update
    // that fits on its page is a HOT update, with no new index entries.
    await queryRunner.query(`ALTER TABLE "otp_challenges" SET (fillfactor = 80)`);

    // Sends of one scope in the hour before p_now: how many (at most p_limit: a limit only needs
    // to know whether it is reached) and the oldest (for Retry-After). Exact.
    await queryRunner.query(`
      CREATE FUNCTION otp_window(p_scope varchar, p_client_id varchar, p_user_id varchar,
                                 p_phone varchar, p_prefix varchar, p_since timestamptz,
                                 p_limit integer, OUT sends integer, OUT oldest timestamptz)
      LANGUAGE plpgsql STABLE AS $$
      #variable_conflict use_column
      BEGIN
        CASE p_scope
          WHEN 'phone' THEN
            SELECT count(*)::int, min(w.sent_at) INTO sends, oldest FROM (
              SELECT sent_at FROM otp_sends WHERE phone_e164 = p_phone AND sent_at > p_since
               ORDER BY sent_at LIMIT p_limit) w;
          WHEN 'user' THEN
            SELECT count(*)::int, min(w.sent_at) INTO sends, oldest FROM (
              SELECT sent_at FROM otp_sends
               WHERE client_id = p_client_id AND user_id = p_user_id AND sent_at > p_since
               ORDER BY sent_at LIMIT p_limit) w;
          WHEN 'prefix' THEN
            SELECT count(*)::int, min(w.sent_at) INTO sends, oldest FROM (
              SELECT sent_at FROM otp_sends WHERE phone_prefix = p_prefix AND sent_at > p_since
               ORDER BY sent_at LIMIT p_limit) w;
          WHEN 'client' THEN
            SELECT count(*)::int, min(w.sent_at) INTO sends, oldest FROM (
              SELECT sent_at FROM otp_sends WHERE client_id = p_client_id AND sent_at > p_since
               ORDER BY sent_at LIMIT p_limit) w;
          ELSE
            SELECT count(*)::int, min(w.sent_at) INTO sends, oldest FROM (
              SELECT sent_at FROM otp_sends WHERE sent_at > p_since
               ORDER BY sent_at LIMIT p_limit) w;
        END CASE;
      END $$`);

    /*
     * Counters of sends for the shared budgets (the service's, a client's): 5-minute buckets
     * split over 8 rows each, so concurrent registers rarely wait on one row. Summing the buckets
     * that overlap the hour over-estimates the exact count a little, never under-estimates it:
     * far below a budget that is proof enough (a register reads at most 104 rows instead of every
     * send of the hour); near it, the exact count decides, under the budget's lock.
     */
    await queryRunner.query(`
      CREATE TABLE "otp_send_counts" (
        "scope" character varying(140) NOT NULL,
        "bucket" TIMESTAMP WITH TIME ZONE NOT NULL,
        "shard" smallint NOT NULL,
        "sends" integer NOT NULL,
        CONSTRAINT "pk_otp_send_counts" PRIMARY KEY ("scope", "bucket", "shard")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_otp_send_counts_bucket" ON "otp_send_counts" ("bucket")`,
    );
    await queryRunner.query(`
      CREATE FUNCTION otp_send_bucket(p_at timestamptz) RETURNS timestamptz
      LANGUAGE sql IMMUTABLE AS $$
        SELECT to_timestamp(floor(extract(epoch FROM p_at) / 300) * 300)
      $$`);
    // The sends of the last hour before this migration, so the budgets count them from the start.
    await queryRunner.query(`
      INSERT INTO otp_send_counts (scope, bucket, shard, sends)
      SELECT scope, otp_send_bucket(sent_at), 0, count(*)::int
        FROM otp_sends, LATERAL (VALUES ('service'), ('client:' || client_id)) s(scope)
       WHERE sent_at > now() - interval '70 minutes'
       GROUP BY scope, otp_send_bucket(sent_at)`);

    /*
     * Register / resend (one operation, spec §3): under the phone's, the user's and the number
     * block's advisory locks, the linking rules, then the live challenge's cooldown, then the hourly limits
     * (phone, user, number block, client, service; the shared budgets counted again under their
     * own lock near the limit), then a fresh code on the live challenge or a new challenge, its
     * send, its outbox message and the `requested` audit event.
     *
     * The caller hashed the code for one challenge id: the live one it names in p_live_id, or
     * the new p_challenge_id when it names none. When the live challenge is not that one, the
     * function writes nothing and answers 'live_changed' with the live challenge (if any), and
     * the caller calls again; likewise when a verify finished the live challenge meanwhile.
     */
    await queryRunner.query(`
      CREATE FUNCTION otp_request_code(
        p_client_id varchar, p_user_id varchar, p_phone varchar, p_prefix varchar,
        p_now timestamptz, p_expires_at timestamptz, p_cooldown_seconds integer,
        p_max_phone integer, p_max_user integer, p_max_prefix integer, p_max_global integer,
        p_client_budget integer, p_budget_lock_margin integer,
        p_challenge_id uuid, p_live_id uuid, p_auth_code varchar, p_code_hash bytea,
        p_channel varchar, p_payload bytea, p_lease_until timestamptz, p_message_audit jsonb,
        p_phone_masked varchar, p_phone_hash bytea, p_ip varchar)
      RETURNS TABLE (outcome varchar, challenge_id uuid, auth_code varchar, attempts integer,
                     retry_after integer, scope varchar, sends integer, phone_known boolean,
                     message_id uuid)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        v_since timestamptz := p_now - interval '1 hour';
        v_state record;
        v_counts record;
        v_window record;
        v_scope varchar;
        v_max integer;
        v_oldest timestamptz;
        v_sends integer;
        v_challenge uuid;
        v_message uuid;
      BEGIN
        -- Few statements, each doing much: in PL/pgSQL every statement costs an executor start.
        -- Always phone, user, number block, then client and service: no deadlock.
        PERFORM pg_advisory_xact_lock(1, hashtext(p_phone)),
                pg_advisory_xact_lock(2, hashtext(p_client_id || '___' || p_user_id)),
                pg_advisory_xact_lock(5, hashtext(p_prefix));

        SELECT s.account_linked, s.phone_linked, s.phone_known,
               live.id AS live_id, live.auth_code AS live_auth_code,
               live.last_sent_at AS live_last_sent_at, live.attempts AS live_attempts
          INTO v_state
          FROM link_state(p_client_id, p_user_id, p_phone) s
          LEFT JOIN LATERAL (
                SELECT c.id, c.auth_code, c.last_sent_at, c.attempts FROM otp_challenges c
                 WHERE c.client_id = p_client_id AND c.user_id = p_user_id
                   AND c.phone_e164 = p_phone AND c.status = 'pending' AND c.expires_at > p_now
                 ORDER BY c.created_at DESC LIMIT 1) live ON true;

        -- Linking rules first (spec §5: conflicts before limits).
        IF v_state.account_linked OR v_state.phone_linked THEN
          RETURN QUERY SELECT CASE WHEN v_state.account_linked THEN 'account_linked'
                                   ELSE 'phone_linked' END::varchar,
                              NULL::uuid, NULL::varchar, NULL::int, NULL::int, NULL::varchar,
                              NULL::int, NULL::boolean, NULL::uuid;
          RETURN;
        END IF;
        IF v_state.live_id IS DISTINCT FROM p_live_id THEN
          RETURN QUERY SELECT 'live_changed'::varchar, v_state.live_id, v_state.live_auth_code,
                              v_state.live_attempts, NULL::int, NULL::varchar, NULL::int,
                              NULL::boolean, NULL::uuid;
          RETURN;
        END IF;
        IF v_state.live_id IS NOT NULL
           AND p_now < v_state.live_last_sent_at + make_interval(secs => p_cooldown_seconds) THEN
          -- p_now was read before the locks, so the send that holds us off may be a moment
          -- younger than it: never ask to wait longer than the cooldown (or the hour, below).
          RETURN QUERY SELECT 'too_soon'::varchar, NULL::uuid, NULL::varchar, NULL::int,
            least(p_cooldown_seconds, greatest(1, ceil(extract(epoch FROM
              v_state.live_last_sent_at + make_interval(secs => p_cooldown_seconds) - p_now))))::int,
            NULL::varchar, NULL::int, NULL::boolean, NULL::uuid;
          RETURN;
        END IF;

        -- The hourly limits in one read: phone, user and number block exactly (each count
        -- stops at its limit), the shared budgets from their counters.
        SELECT (SELECT count(*)::int FROM (SELECT 1 FROM otp_sends
                 WHERE phone_e164 = p_phone AND sent_at > v_since
                 LIMIT p_max_phone) w) AS phone,
               (SELECT count(*)::int FROM (SELECT 1 FROM otp_sends
                 WHERE client_id = p_client_id AND user_id = p_user_id AND sent_at > v_since
                 LIMIT p_max_user) w) AS "user",
               (SELECT count(*)::int FROM (SELECT 1 FROM otp_sends
                 WHERE phone_prefix = p_prefix AND sent_at > v_since
                 LIMIT p_max_prefix) w) AS prefix,
               (SELECT coalesce(sum(k.sends), 0)::int FROM otp_send_counts k
                 WHERE k.scope = 'client:' || p_client_id
                   AND k.bucket > otp_send_bucket(p_now) - interval '65 minutes') AS client,
               (SELECT coalesce(sum(k.sends), 0)::int FROM otp_send_counts k
                 WHERE k.scope = 'service'
                   AND k.bucket > otp_send_bucket(p_now) - interval '65 minutes') AS service
          INTO v_counts;
        v_scope := CASE
          WHEN v_counts.phone >= p_max_phone THEN 'phone'
          WHEN v_counts."user" >= p_max_user THEN 'user'
          WHEN v_counts.prefix >= p_max_prefix THEN 'prefix' END;
        -- A shared budget near its end: registers take turns on its lock and count exactly.
        IF v_scope IS NULL AND p_client_budget IS NOT NULL
           AND v_counts.client >= p_client_budget - p_budget_lock_margin THEN
          PERFORM pg_advisory_xact_lock(4, hashtext(p_client_id));
          SELECT * INTO v_window FROM otp_window('client', p_client_id, p_user_id, p_phone,
                                                 p_prefix, v_since, p_client_budget);
          IF v_window.sends >= p_client_budget THEN v_scope := 'client'; END IF;
        END IF;
        IF v_scope IS NULL AND v_counts.service >= p_max_global - p_budget_lock_margin THEN
          PERFORM pg_advisory_xact_lock(3, 0);
          SELECT * INTO v_window FROM otp_window('service', p_client_id, p_user_id, p_phone,
                                                 p_prefix, v_since, p_max_global);
          IF v_window.sends >= p_max_global THEN v_scope := 'service'; END IF;
        END IF;
        IF v_scope IS NOT NULL THEN
          v_max := CASE v_scope WHEN 'phone' THEN p_max_phone WHEN 'user' THEN p_max_user
                                WHEN 'prefix' THEN p_max_prefix WHEN 'client' THEN p_client_budget
                                ELSE p_max_global END;
          -- The exact count and the oldest send of the window that is full (for Retry-After).
          SELECT * INTO v_window FROM otp_window(v_scope, p_client_id, p_user_id, p_phone,
                                                 p_prefix, v_since, v_max);
          RETURN QUERY SELECT 'limited'::varchar, NULL::uuid, NULL::varchar, NULL::int,
            least(3600, greatest(1, ceil(extract(epoch FROM
              coalesce(v_window.oldest, p_now) + interval '1 hour' - p_now))))::int,
            v_scope, v_window.sends, NULL::boolean, NULL::uuid;
          RETURN;
        END IF;

        -- The writes, one statement each way: the challenge (a fresh code on the live one, or
        -- a new one whose authCode is free among the user's live challenges), its send, the
        -- budgets' counters, the outbox message and the audit event.
        IF v_state.live_id IS NOT NULL THEN
          WITH c AS (
                 UPDATE otp_challenges
                    SET code_hash = p_code_hash, last_sent_at = p_now, expires_at = p_expires_at,
                        send_count = send_count + 1
                  WHERE id = v_state.live_id AND status = 'pending' AND expires_at > p_now
                 RETURNING id),
               superseded AS (
                 -- The older codes of this challenge are worthless now.
                 UPDATE outbox_messages SET status = 'superseded', payload = NULL
                  WHERE group_key = 'otp:' || v_state.live_id AND status = 'pending'
                    AND EXISTS (SELECT 1 FROM c)),
               ${SEND_WRITES};
          IF v_challenge IS NULL THEN
            -- A verify (it takes no advisory lock) finished the challenge while we waited for
            -- its row: nothing was written; the caller calls again and meets the new state.
            RETURN QUERY SELECT 'live_changed'::varchar, NULL::uuid, NULL::varchar, NULL::int,
                                NULL::int, NULL::varchar, NULL::int, NULL::boolean, NULL::uuid;
            RETURN;
          END IF;
        ELSE
          WITH c AS (
                 INSERT INTO otp_challenges
                   (id, client_id, user_id, phone_e164, auth_code, code_hash, last_sent_at,
                    expires_at, created_at)
                 SELECT p_challenge_id, p_client_id, p_user_id, p_phone, p_auth_code,
                        p_code_hash, p_now, p_expires_at, p_now
                  WHERE NOT EXISTS (SELECT 1 FROM otp_challenges
                                     WHERE client_id = p_client_id AND user_id = p_user_id
                                       AND auth_code = p_auth_code AND status = 'pending'
                                       AND expires_at > p_now)
                 RETURNING id),
               ${SEND_WRITES};
          IF v_challenge IS NULL THEN
            RETURN QUERY SELECT 'auth_code_taken'::varchar, NULL::uuid, NULL::varchar, NULL::int,
                                NULL::int, NULL::varchar, NULL::int, NULL::boolean, NULL::uuid;
            RETURN;
          END IF;
        END IF;

        RETURN QUERY SELECT 'issued'::varchar, v_challenge,
                            coalesce(v_state.live_auth_code, p_auth_code),
                            coalesce(v_state.live_attempts, 0), NULL::int, NULL::varchar,
                            NULL::int, v_state.phone_known, v_message;
      END $$`);

    // What verify needs in one read: the user's link state and the newest challenge of (user,
    // phone) with that authCode, with the phone's failed verifies of the last hour.
    await queryRunner.query(`
      CREATE FUNCTION otp_verify_state(p_client_id varchar, p_user_id varchar, p_phone varchar,
                                       p_auth_code varchar, p_since timestamptz)
      RETURNS TABLE (account_linked boolean, link_challenge_id uuid, phone_linked boolean,
                     id uuid, status varchar, attempts integer, expires_at timestamptz,
                     code_hash bytea, result_phone_user_id uuid, result_is_new_user boolean,
                     phone_failures integer, oldest_failure timestamptz)
      LANGUAGE sql STABLE AS $$
        SELECT s.account_linked, s.link_challenge_id, s.phone_linked,
               c.id, c.status, c.attempts, c.expires_at, c.code_hash, c.result_phone_user_id,
               c.result_is_new_user, f.n, f.oldest
          FROM link_state(p_client_id, p_user_id, p_phone) s
          LEFT JOIN LATERAL (
                SELECT * FROM otp_challenges
                 WHERE client_id = p_client_id AND user_id = p_user_id AND phone_e164 = p_phone
                   AND auth_code = p_auth_code
                 ORDER BY created_at DESC LIMIT 1) c ON true
          CROSS JOIN LATERAL (
                SELECT count(*)::int AS n, min(failed_at) AS oldest FROM otp_verify_failures
                 WHERE phone_e164 = p_phone AND failed_at > p_since) f
      $$`);

    /*
     * A wrong code, counted atomically: only while the challenge is live with attempts left (the
     * last allowed one locks it), and only while the phone is under its hourly cap of failed
     * verifies across challenges (exact: under the phone's lock). Answers 'counted' with the
     * attempts left, 'capped' with Retry-After, or 'not_live' (also when a resend changed the
     * code since the caller compared it: the caller reads again).
     */
    await queryRunner.query(`
      CREATE FUNCTION otp_count_wrong_code(
        p_challenge_id uuid, p_client_id varchar, p_user_id varchar, p_phone varchar,
        p_now timestamptz, p_max_attempts integer, p_max_failures integer,
        p_phone_masked varchar, p_phone_hash bytea, p_ip varchar, p_code_hash bytea)
      RETURNS TABLE (outcome varchar, attempts_left integer, retry_after integer)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        v_failures integer;
        v_oldest timestamptz;
        v_attempts integer;
      BEGIN
        PERFORM pg_advisory_xact_lock(1, hashtext(p_phone));
        SELECT count(*)::int, min(failed_at) INTO v_failures, v_oldest FROM otp_verify_failures
         WHERE phone_e164 = p_phone AND failed_at > p_now - interval '1 hour';
        IF v_failures >= p_max_failures THEN
          RETURN QUERY SELECT 'capped'::varchar, NULL::int,
            least(3600, greatest(1, ceil(extract(epoch FROM
              coalesce(v_oldest, p_now) + interval '1 hour' - p_now))))::int;
          RETURN;
        END IF;
        UPDATE otp_challenges
           SET attempts = attempts + 1,
               status = CASE WHEN attempts + 1 >= p_max_attempts THEN 'locked' ELSE status END
         WHERE id = p_challenge_id AND status = 'pending' AND attempts < p_max_attempts
           AND expires_at > p_now AND code_hash = p_code_hash
        RETURNING attempts INTO v_attempts;
        IF NOT FOUND THEN
          RETURN QUERY SELECT 'not_live'::varchar, NULL::int, NULL::int;
          RETURN;
        END IF;
        INSERT INTO otp_verify_failures (phone_e164, challenge_id, failed_at)
        VALUES (p_phone, p_challenge_id, p_now);
        INSERT INTO audit_events
          (event, client_id, user_id, phone_masked, phone_hash, ip, challenge_id, created_at)
        SELECT e, p_client_id, p_user_id, p_phone_masked, p_phone_hash, p_ip, p_challenge_id, now()
          FROM unnest(CASE WHEN v_attempts >= p_max_attempts
                           THEN ARRAY['verify_failed', 'locked'] ELSE ARRAY['verify_failed'] END) e;
        RETURN QUERY SELECT 'counted'::varchar, p_max_attempts - v_attempts, NULL::int;
      END $$`);

    /*
     * The right code: marks the challenge verified (only if still live: the row lock serialises
     * double submits), then the phone identity (created if new: xmax = 0 tells), the partner
     * user and the link. The named unique constraints decide races and raise (the caller maps
     * them to ACCOUNT_ALREADY_LINKED / PHONE_ALREADY_LINKED, and nothing is kept). The answer is
     * stored on the challenge for an idempotent repeat, and audited. 'not_live' when the
     * challenge stopped being live meanwhile, or a resend replaced the code the caller matched
     * (a resent code makes the previous one worthless, spec §3).
     */
    await queryRunner.query(`
      CREATE FUNCTION otp_link_verified(
        p_challenge_id uuid, p_client_id varchar, p_user_id varchar, p_phone varchar,
        p_wallet_address varchar, p_client_name varchar, p_now timestamptz,
        p_max_attempts integer, p_phone_masked varchar, p_phone_hash bytea, p_ip varchar,
        p_code_hash bytea)
      RETURNS TABLE (outcome varchar, phone_user_id uuid, is_new_user boolean)
      LANGUAGE plpgsql AS $$
      #variable_conflict use_column
      DECLARE
        v_phone_user uuid;
        v_inserted boolean;
        v_partner uuid;
      BEGIN
        UPDATE otp_challenges SET status = 'verified', verified_at = p_now
         WHERE id = p_challenge_id AND status = 'pending' AND attempts < p_max_attempts
           AND expires_at > p_now AND code_hash = p_code_hash;
        IF NOT FOUND THEN
          RETURN QUERY SELECT 'not_live'::varchar, NULL::uuid, NULL::boolean;
          RETURN;
        END IF;
        INSERT INTO phone_users (phone_e164) VALUES (p_phone)
        ON CONFLICT ON CONSTRAINT uq_phone_users_phone DO UPDATE SET phone_e164 = EXCLUDED.phone_e164
        RETURNING id, (xmax = 0) INTO v_phone_user, v_inserted;
        INSERT INTO third_party_users (client_id, user_id, wallet_address, client_name)
        VALUES (p_client_id, p_user_id, p_wallet_address, p_client_name)
        ON CONFLICT ON CONSTRAINT uq_third_party_users_client_user DO UPDATE
          SET wallet_address = COALESCE(EXCLUDED.wallet_address, third_party_users.wallet_address),
              client_name = COALESCE(EXCLUDED.client_name, third_party_users.client_name),
              updated_at = now()
        RETURNING id INTO v_partner;
        INSERT INTO links (third_party_user_id, phone_user_id, client_id, challenge_id)
        VALUES (v_partner, v_phone_user, p_client_id, p_challenge_id);
        UPDATE otp_challenges SET result_phone_user_id = v_phone_user, result_is_new_user = v_inserted
         WHERE id = p_challenge_id;
        INSERT INTO audit_events
          (event, client_id, user_id, phone_masked, phone_hash, ip, challenge_id, created_at)
        SELECT e, p_client_id, p_user_id, p_phone_masked, p_phone_hash, p_ip, p_challenge_id, now()
          FROM unnest(ARRAY['verified', 'linked']) e;
        RETURN QUERY SELECT 'linked'::varchar, v_phone_user, v_inserted;
      END $$`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP FUNCTION otp_link_verified`);
    await queryRunner.query(`DROP FUNCTION otp_count_wrong_code`);
    await queryRunner.query(`DROP FUNCTION otp_verify_state`);
    await queryRunner.query(`DROP FUNCTION otp_request_code`);
    await queryRunner.query(`DROP FUNCTION otp_window`);
    await queryRunner.query(`DROP FUNCTION otp_send_bucket`);
    await queryRunner.query(`DROP TABLE "otp_send_counts"`);
    await queryRunner.query(`DROP FUNCTION link_state`);
    await queryRunner.query(`ALTER TABLE "otp_challenges" RESET (fillfactor)`);
  }
}
