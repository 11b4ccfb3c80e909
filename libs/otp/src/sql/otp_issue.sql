/*
 * A code for (owner, target): a fresh code on the owner's live challenge of that target (a
 * resend), or a new challenge. Under the target's, the owner's and the number block's locks
 * (taken in that order, before a budget's: no deadlock), every count read is exact across
 * instances. In order:
 *
 * 1. the live challenge: the caller hashed the code for one challenge, the live one it names in
 *    p_live_id or the new p_challenge_id when it names none. When the live challenge is another,
 *    nothing is written: 'live_changed' with the live challenge, and the caller hashes the code
 *    for it and calls again;
 * 2. the resend cooldown: 'too_soon' with retry_after;
 * 3. the hourly send limits: per target, owner and number block exactly; the client's and the
 *    service's budgets from the counters far from their end, exactly under the budget's lock near
 *    it. 'limited' with the scope, its sends and retry_after;
 * 4. the writes: the challenge (its new code, or the new challenge, whose auth code must be free
 *    among the owner's live ones: else 'auth_code_taken'), its send and the budgets' counters.
 *    'issued' with the attempts left and when a resend is allowed.
 *
 * A verify takes no advisory lock: when it finished the live challenge while this waited for the
 * challenge's row, nothing is written and the answer is 'live_changed' too.
 */
CREATE FUNCTION otp_issue(
  p_client_id varchar, p_user_id varchar, p_target varchar, p_target_kind varchar,
  p_block varchar, p_channel varchar, p_now timestamptz, p_expires_at timestamptz,
  p_challenge_id uuid, p_live_id uuid, p_auth_code varchar, p_code_hash bytea,
  p_cooldown_seconds integer, p_max_attempts integer, p_max_per_target integer,
  p_max_per_owner integer, p_max_per_block integer, p_max_per_service integer,
  p_client_budget integer, p_budget_margin integer,
  OUT outcome varchar, OUT challenge_id uuid, OUT auth_code varchar,
  OUT attempts_left integer, OUT resend_after integer, OUT retry_after integer,
  OUT scope varchar, OUT sends integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_since timestamptz := p_now - interval '1 hour';
  v_live record;
  v_counts record;
  v_window record;
  v_attempts integer;
BEGIN
  PERFORM pg_advisory_xact_lock(1, hashtext(p_target)),
          pg_advisory_xact_lock(2, hashtext(p_client_id || '___' || p_user_id));
  IF p_block IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(5, hashtext(p_block));
  END IF;

  SELECT c.id, c.auth_code, c.last_sent_at INTO v_live FROM otp_challenges c
   WHERE c.client_id = p_client_id AND c.user_id = p_user_id AND c.target = p_target
     AND otp_challenge_state(c.status, c.attempts, c.expires_at, p_now, p_max_attempts) = 'live'
   ORDER BY c.created_at DESC LIMIT 1;

  IF v_live.id IS DISTINCT FROM p_live_id THEN
    outcome := 'live_changed';
    challenge_id := v_live.id;
    auth_code := v_live.auth_code;
    RETURN;
  END IF;
  IF v_live.id IS NOT NULL
     AND p_now < v_live.last_sent_at + make_interval(secs => p_cooldown_seconds) THEN
    outcome := 'too_soon';
    -- p_now was read before the locks, so the send that holds us off may be a moment younger
    -- than it: never ask to wait longer than the cooldown.
    retry_after := least(p_cooldown_seconds, greatest(1, ceil(extract(epoch FROM
      v_live.last_sent_at + make_interval(secs => p_cooldown_seconds) - p_now))))::integer;
    RETURN;
  END IF;

  -- The hourly limits in one read: target, owner and number block exactly (each count stops at
  -- its limit), the shared budgets from their counters (which over-estimate, never under).
  SELECT (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE target = p_target AND sent_at > v_since LIMIT p_max_per_target) w) AS target,
         (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE client_id = p_client_id AND user_id = p_user_id AND sent_at > v_since
           LIMIT p_max_per_owner) w) AS owner,
         (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE target_block = p_block AND sent_at > v_since LIMIT p_max_per_block) w) AS block,
         (SELECT coalesce(sum(k.sends), 0)::integer FROM otp_send_counts k
           WHERE k.scope = 'client:' || p_client_id
             AND k.bucket > otp_send_bucket(p_now) - interval '65 minutes') AS client,
         (SELECT coalesce(sum(k.sends), 0)::integer FROM otp_send_counts k
           WHERE k.scope = 'service'
             AND k.bucket > otp_send_bucket(p_now) - interval '65 minutes') AS service
    INTO v_counts;
  scope := CASE WHEN v_counts.target >= p_max_per_target THEN 'target'
                WHEN v_counts.owner >= p_max_per_owner THEN 'owner'
                WHEN p_block IS NOT NULL AND v_counts.block >= p_max_per_block THEN 'block' END;
  -- A shared budget near its end: registers take turns on its lock and count exactly.
  IF scope IS NULL AND p_client_budget IS NOT NULL
     AND v_counts.client >= p_client_budget - p_budget_margin THEN
    PERFORM pg_advisory_xact_lock(4, hashtext(p_client_id));
    IF (otp_window('client', p_client_id, p_user_id, p_target, p_block, p_now,
                   p_client_budget)).sends >= p_client_budget THEN
      scope := 'client';
    END IF;
  END IF;
  IF scope IS NULL AND v_counts.service >= p_max_per_service - p_budget_margin THEN
    PERFORM pg_advisory_xact_lock(3, 0);
    IF (otp_window('service', p_client_id, p_user_id, p_target, p_block, p_now,
                   p_max_per_service)).sends >= p_max_per_service THEN
      scope := 'service';
    END IF;
  END IF;
  IF scope IS NOT NULL THEN
    -- The exact count and the oldest send of the window that is full (for Retry-After).
    SELECT * INTO v_window FROM otp_window(scope, p_client_id, p_user_id, p_target, p_block, p_now,
      CASE scope WHEN 'target' THEN p_max_per_target WHEN 'owner' THEN p_max_per_owner
                 WHEN 'block' THEN p_max_per_block WHEN 'client' THEN p_client_budget
                 ELSE p_max_per_service END);
    outcome := 'limited';
    sends := v_window.sends;
    retry_after := otp_retry_after(v_window.oldest, p_now);
    RETURN;
  END IF;

  IF v_live.id IS NOT NULL THEN
    UPDATE otp_challenges
       SET code_hash = p_code_hash, channel = p_channel, last_sent_at = p_now,
           expires_at = p_expires_at, send_count = send_count + 1
     WHERE id = v_live.id
       AND otp_challenge_state(status, attempts, expires_at, p_now, p_max_attempts) = 'live'
    RETURNING id, attempts INTO challenge_id, v_attempts;
    IF challenge_id IS NULL THEN
      outcome := 'live_changed';
      RETURN;
    END IF;
    auth_code := v_live.auth_code;
  ELSE
    INSERT INTO otp_challenges
      (id, client_id, user_id, target, target_kind, channel, auth_code, code_hash, last_sent_at,
       expires_at, created_at)
    SELECT p_challenge_id, p_client_id, p_user_id, p_target, p_target_kind, p_channel,
           p_auth_code, p_code_hash, p_now, p_expires_at, p_now
     WHERE NOT EXISTS (
           SELECT 1 FROM otp_challenges c
            WHERE c.client_id = p_client_id AND c.user_id = p_user_id
              AND c.auth_code = p_auth_code
              AND otp_challenge_state(c.status, c.attempts, c.expires_at, p_now,
                                      p_max_attempts) = 'live')
    RETURNING id, attempts INTO challenge_id, v_attempts;
    IF challenge_id IS NULL THEN
      outcome := 'auth_code_taken';
      RETURN;
    END IF;
    auth_code := p_auth_code;
  END IF;

  -- The send, and the shared budgets' counters (a random one of a bucket's 8 rows each, so
  -- concurrent registers rarely wait on one row).
  WITH s AS (
         INSERT INTO otp_sends
           (challenge_id, client_id, user_id, target, target_block, channel, sent_at)
         VALUES (challenge_id, p_client_id, p_user_id, p_target, coalesce(p_block, ''),
                 p_channel, p_now))
  INSERT INTO otp_send_counts (scope, bucket, shard, sends)
  SELECT v.scope, otp_send_bucket(p_now), floor(random() * 8)::smallint, 1
    FROM (VALUES ('service'), ('client:' || p_client_id)) v(scope)
  ON CONFLICT ON CONSTRAINT pk_otp_send_counts DO UPDATE SET sends = otp_send_counts.sends + 1;

  outcome := 'issued';
  attempts_left := p_max_attempts - v_attempts;
  resend_after := p_cooldown_seconds;
END $$;
