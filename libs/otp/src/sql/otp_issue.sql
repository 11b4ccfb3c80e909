/*
 * A code for (owner, target): a fresh code on the owner's live challenge of that target (a
 * resend), or a new challenge. Under the target's, the owner's and the number block's locks
 * (taken in that order, before a budget's: no deadlock), every count read is exact across
 * instances. In order:
 *
 * 1. the live challenge: the caller hashed the code for one challenge, the live one it names in
 *    live_id, or the new challenge_id when it names none. When the live challenge is another,
 *    nothing is written: 'live_changed' with the live challenge, and the caller hashes the code
 *    for it and calls again;
 * 2. the resend cooldown: 'too_soon' with retry_after;
 * 3. the hourly send limits: per target, owner and number block exactly, and a call's own per
 *    target (max_calls_per_target: a call costs several SMS; a fallback call counts, and
 *    call_fallback_allowed says whether this code's chain may hold one); the client's and the
 *    service's budgets from the counters far from their end, exactly under the budget's lock near
 *    it; then the pumping guard (otp_pumping_paused over otp_conversion): where too few of the
 *    codes sent to the target's region (country) or number block in the hour were verified,
 *    sends there pause ('region', 'block_conversion'). Only settled sends count: a burst of
 *    real users whose codes are still live is never mistaken for pumping. 'limited' with the
 *    scope, its sends and retry_after;
 * 4. the writes: the challenge (its new code, or the new challenge, whose auth code must be free
 *    among the owner's live ones: else 'auth_code_taken'), its send and the counters (budgets,
 *    region and block).
 *    'issued' with the attempts left and when a resend is allowed.
 *
 * The right code (otp_mark_verified) takes no advisory lock: when it finished the live challenge
 * while this waited for the challenge's row, nothing is written and the answer is 'live_changed'
 * too. (A wrong code takes the target's lock, as this does.)
 */
CREATE FUNCTION otp_issue(
  p_args jsonb,
  OUT outcome varchar, OUT challenge_id uuid, OUT auth_code varchar,
  OUT attempts_left integer, OUT resend_after integer, OUT retry_after integer,
  OUT scope varchar, OUT sends integer, OUT call_fallback_allowed boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  a record;
  v_since timestamptz;
  v_live record;
  v_counts record;
  v_window record;
  v_attempts integer;
  v_calls integer;
BEGIN
  -- The arguments, named and typed once, here (OtpEngine.issueArgs builds them).
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    client_id varchar,
    user_id varchar,
    target varchar,
    target_kind varchar,
    block varchar,
    channel varchar,
    now timestamptz,
    expires_at timestamptz,
    challenge_id uuid,
    live_id uuid,
    auth_code varchar,
    code_hash bytea,
    cooldown_seconds integer,
    max_attempts integer,
    max_per_target integer,
    max_calls_per_target integer,
    call_fallback boolean,
    max_per_owner integer,
    max_per_block integer,
    max_per_service integer,
    client_budget integer,
    budget_margin integer,
    region varchar,
    pumping_min_sends integer,
    pumping_min_conversion real);
  v_since := a.now - interval '1 hour';
  PERFORM pg_advisory_xact_lock(1, hashtext(a.target)),
          pg_advisory_xact_lock(2, hashtext(a.client_id || '___' || a.user_id));
  IF a.block IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(5, hashtext(a.block));
  END IF;

  SELECT c.id, c.auth_code, c.last_sent_at INTO v_live FROM otp_challenges c
   WHERE c.client_id = a.client_id AND c.user_id = a.user_id AND c.target = a.target
     AND otp_challenge_state(c.status, c.attempts, c.expires_at, a.now, a.max_attempts) = 'live'
   ORDER BY c.created_at DESC LIMIT 1;

  IF v_live.id IS DISTINCT FROM a.live_id THEN
    outcome := 'live_changed';
    challenge_id := v_live.id;
    auth_code := v_live.auth_code;
    RETURN;
  END IF;
  IF v_live.id IS NOT NULL
     AND a.now < v_live.last_sent_at + make_interval(secs => a.cooldown_seconds) THEN
    outcome := 'too_soon';
    -- a.now was read before the locks, so the send that holds us off may be a moment younger
    -- than it: never ask to wait longer than the cooldown.
    retry_after := least(a.cooldown_seconds, greatest(1, ceil(extract(epoch FROM
      v_live.last_sent_at + make_interval(secs => a.cooldown_seconds) - a.now))))::integer;
    RETURN;
  END IF;

  -- The hourly limits in one read: target, owner and number block exactly (each count stops at
  -- its limit), the shared budgets from their counters (which over-estimate, never under).
  SELECT (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE target = a.target AND sent_at > v_since LIMIT a.max_per_target) w) AS target,
         (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE client_id = a.client_id AND user_id = a.user_id AND sent_at > v_since
           LIMIT a.max_per_owner) w) AS owner,
         (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE target_block = a.block AND sent_at > v_since LIMIT a.max_per_block) w) AS block,
         (SELECT coalesce(sum(k.sends), 0)::integer FROM otp_send_counts k
           WHERE k.scope = 'client:' || a.client_id
             AND k.bucket > otp_send_bucket(a.now) - interval '65 minutes') AS client,
         (SELECT coalesce(sum(k.sends), 0)::integer FROM otp_send_counts k
           WHERE k.scope = 'service'
             AND k.bucket > otp_send_bucket(a.now) - interval '65 minutes') AS service,
         region.settled AS region_settled, region.verified AS region_verified,
         block_conversion.settled AS block_settled, block_conversion.verified AS block_verified
    INTO v_counts
    FROM otp_conversion('region:' || a.region, a.now, a.expires_at - a.now) region,
         otp_conversion('block:' || a.block, a.now, a.expires_at - a.now) block_conversion;
  -- Calls, sent first or as fallbacks, only when this code may make one.
  IF a.channel = 'voice' OR a.call_fallback THEN
    v_calls := (otp_window('calls', a.client_id, a.user_id, a.target, a.block, a.now,
                           a.max_calls_per_target)).sends;
  END IF;
  -- Null when the chain holds no call: nothing to decide.
  call_fallback_allowed := CASE WHEN a.call_fallback THEN v_calls < a.max_calls_per_target END;
  scope := CASE WHEN v_counts.target >= a.max_per_target THEN 'target'
                WHEN a.channel = 'voice' AND v_calls >= a.max_calls_per_target THEN 'calls'
                WHEN v_counts.owner >= a.max_per_owner THEN 'owner'
                WHEN a.block IS NOT NULL AND v_counts.block >= a.max_per_block THEN 'block' END;
  -- A shared budget near its end: registers take turns on its lock and count exactly.
  IF scope IS NULL AND a.client_budget IS NOT NULL
     AND v_counts.client >= a.client_budget - a.budget_margin THEN
    PERFORM pg_advisory_xact_lock(4, hashtext(a.client_id));
    IF (otp_window('client', a.client_id, a.user_id, a.target, a.block, a.now,
                   a.client_budget)).sends >= a.client_budget THEN
      scope := 'client';
    END IF;
  END IF;
  IF scope IS NULL AND v_counts.service >= a.max_per_service - a.budget_margin THEN
    PERFORM pg_advisory_xact_lock(3, 0);
    IF (otp_window('service', a.client_id, a.user_id, a.target, a.block, a.now,
                   a.max_per_service)).sends >= a.max_per_service THEN
      scope := 'service';
    END IF;
  END IF;
  IF scope IS NULL AND otp_pumping_paused(v_counts.region_settled, v_counts.region_verified,
                                           a.pumping_min_sends, a.pumping_min_conversion) THEN
    scope := 'region';
    sends := v_counts.region_settled;
  ELSIF scope IS NULL AND otp_pumping_paused(v_counts.block_settled, v_counts.block_verified,
                                              a.pumping_min_sends, a.pumping_min_conversion) THEN
    scope := 'block_conversion';
    sends := v_counts.block_settled;
  END IF;
  IF scope IN ('region', 'block_conversion') THEN
    -- The share changes as the window slides, a bucket at a time.
    outcome := 'limited';
    retry_after := greatest(1, ceil(extract(epoch FROM
      otp_send_bucket(a.now) + interval '5 minutes' - a.now)))::integer;
    RETURN;
  END IF;
  IF scope IS NOT NULL THEN
    -- The exact count and the oldest send of the window that is full (for Retry-After).
    SELECT * INTO v_window FROM otp_window(scope, a.client_id, a.user_id, a.target, a.block, a.now,
      CASE scope WHEN 'target' THEN a.max_per_target WHEN 'calls' THEN a.max_calls_per_target
                 WHEN 'owner' THEN a.max_per_owner
                 WHEN 'block' THEN a.max_per_block WHEN 'client' THEN a.client_budget
                 ELSE a.max_per_service END);
    outcome := 'limited';
    sends := v_window.sends;
    retry_after := otp_retry_after(v_window.oldest, a.now);
    RETURN;
  END IF;

  IF v_live.id IS NOT NULL THEN
    UPDATE otp_challenges
       SET code_hash = a.code_hash, channel = a.channel, last_sent_at = a.now,
           expires_at = a.expires_at, send_count = send_count + 1
     WHERE id = v_live.id
       AND otp_challenge_state(status, attempts, expires_at, a.now, a.max_attempts) = 'live'
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
    SELECT a.challenge_id, a.client_id, a.user_id, a.target, a.target_kind, a.channel,
           a.auth_code, a.code_hash, a.now, a.expires_at, a.now
     WHERE NOT EXISTS (
           SELECT 1 FROM otp_challenges c
            WHERE c.client_id = a.client_id AND c.user_id = a.user_id
              AND c.auth_code = a.auth_code
              AND otp_challenge_state(c.status, c.attempts, c.expires_at, a.now,
                                      a.max_attempts) = 'live')
    RETURNING id, attempts INTO challenge_id, v_attempts;
    IF challenge_id IS NULL THEN
      outcome := 'auth_code_taken';
      RETURN;
    END IF;
    auth_code := a.auth_code;
  END IF;

  -- The send, and the counters of the budgets, the region and the block (this session's row of
  -- each bucket's 8: otp_send_shard).
  WITH s AS (
         INSERT INTO otp_sends
           (challenge_id, client_id, user_id, target, target_block, channel, sent_at)
         VALUES (challenge_id, a.client_id, a.user_id, a.target, coalesce(a.block, ''),
                 a.channel, a.now))
  INSERT INTO otp_send_counts (scope, bucket, shard, sends)
  SELECT v.scope, otp_send_bucket(a.now), otp_send_shard(), 1
    FROM (VALUES ('service'), ('client:' || a.client_id), ('region:' || a.region),
                 ('block:' || a.block)) v(scope)
   WHERE v.scope IS NOT NULL
  ON CONFLICT ON CONSTRAINT pk_otp_send_counts DO UPDATE SET sends = otp_send_counts.sends + 1;

  outcome := 'issued';
  attempts_left := a.max_attempts - v_attempts;
  resend_after := a.cooldown_seconds;
END $$;
