/*
 * A password of the OTP API (OTP-API.md "Create"): a new row of otp_api_codes, whatever other
 * passwords of the target are live (each keeps its own lifetime). Under the target's lock (1,
 * the same as otp_issue's, so the service's per-target limits count both APIs exactly), the
 * number block's (5) and the end user's address's (6, per client and channel), in that order,
 * before a budget's (4, 3): no deadlock with otp_issue. In order:
 *
 * 1. the client's own limits of the channel (otp_api_limits): per address (`ip`, with the wrong
 *    guesses of GET /target) then per target: 'ip_limit' / 'target_limit' with the limit's
 *    minutes and rate;
 * 2. the service's limits, as otp_issue applies them (per target, calls per target, number
 *    block, the client's and the service's budgets, the pumping guard): 'limited' with the scope,
 *    its sends and retry_after. There is no partner user here, so no per-user limit;
 * 3. with p_args.unique_password (the Telegram bot's passwords), the password must not be live
 *    for another target of the client and channel: else 'password_taken';
 * 4. the writes: the password, its send (otp_sends, user '' : the API has no partner user) and
 *    the counters of the budgets, region and block. 'issued'.
 */
CREATE FUNCTION otp_api_issue(
  p_args jsonb,
  OUT outcome varchar, OUT minutes integer, OUT rate integer, OUT scope varchar,
  OUT sends integer, OUT retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  a record;
  v_limits record;
  v_hit record;
  v_since timestamptz;
  v_counts record;
  v_window record;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    id uuid,
    client_id varchar,
    channel varchar,
    target varchar,
    block varchar,
    region varchar,
    ip varchar,
    now timestamptz,
    expires_at timestamptz,
    code_hash bytea,
    unique_password boolean,
    max_per_target integer,
    max_calls_per_target integer,
    max_per_block integer,
    max_per_service integer,
    client_budget integer,
    budget_margin integer,
    pumping_min_sends integer,
    pumping_min_conversion real);
  v_since := a.now - interval '1 hour';
  PERFORM pg_advisory_xact_lock(1, hashtext(a.target));
  IF a.block IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(5, hashtext(a.block));
  END IF;
  IF a.ip IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(6, hashtext(a.client_id || '___' || a.channel || '___' || a.ip));
  END IF;

  -- 1. The client's own limits.
  SELECT l.ips, l.targets INTO v_limits FROM otp_api_limits l
   WHERE l.client_id = a.client_id AND l.channel = a.channel;
  SELECT * INTO v_hit FROM otp_api_ip_limited(a.client_id, a.channel, a.ip, v_limits.ips, a.now);
  IF v_hit.minutes IS NOT NULL THEN
    outcome := 'ip_limit';
    minutes := v_hit.minutes;
    rate := v_hit.rate;
    RETURN;
  END IF;
  SELECT l.minutes, l.rate INTO v_hit
    FROM jsonb_to_recordset(coalesce(v_limits.targets, '[]'::jsonb))
           AS l(minutes integer, rate integer)
   WHERE (SELECT count(*) FROM (SELECT 1 FROM otp_api_codes c
           WHERE c.client_id = a.client_id AND c.channel = a.channel AND c.target = a.target
             AND c.created_at > a.now - make_interval(mins => l.minutes) LIMIT l.rate) w) >= l.rate
   ORDER BY l.minutes, l.rate
   LIMIT 1;
  IF v_hit.minutes IS NOT NULL THEN
    outcome := 'target_limit';
    minutes := v_hit.minutes;
    rate := v_hit.rate;
    RETURN;
  END IF;

  -- 2. The service's limits (otp_issue's, without the partner user's).
  SELECT (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE target = a.target AND sent_at > v_since LIMIT a.max_per_target) w) AS target,
         (SELECT count(*)::integer FROM (SELECT 1 FROM otp_sends
           WHERE a.channel = 'voice' AND target = a.target AND channel = 'voice'
             AND sent_at > v_since LIMIT a.max_calls_per_target) w) AS calls,
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
  scope := CASE WHEN v_counts.target >= a.max_per_target THEN 'target'
                WHEN a.channel = 'voice' AND v_counts.calls >= a.max_calls_per_target
                  THEN 'calls'
                WHEN a.block IS NOT NULL AND v_counts.block >= a.max_per_block THEN 'block' END;
  IF scope IS NULL AND v_counts.client >= a.client_budget - a.budget_margin THEN
    PERFORM pg_advisory_xact_lock(4, hashtext(a.client_id));
    IF (otp_window('client', a.client_id, '', a.target, a.block, a.now,
                   a.client_budget)).sends >= a.client_budget THEN
      scope := 'client';
    END IF;
  END IF;
  IF scope IS NULL AND v_counts.service >= a.max_per_service - a.budget_margin THEN
    PERFORM pg_advisory_xact_lock(3, 0);
    IF (otp_window('service', a.client_id, '', a.target, a.block, a.now,
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
    outcome := 'limited';
    retry_after := greatest(1, ceil(extract(epoch FROM
      otp_send_bucket(a.now) + interval '5 minutes' - a.now)))::integer;
    RETURN;
  END IF;
  IF scope IS NOT NULL THEN
    SELECT * INTO v_window FROM otp_window(scope, a.client_id, '', a.target, a.block, a.now,
      CASE scope WHEN 'target' THEN a.max_per_target WHEN 'calls' THEN a.max_calls_per_target
                 WHEN 'block' THEN a.max_per_block WHEN 'client' THEN a.client_budget
                 ELSE a.max_per_service END);
    outcome := 'limited';
    sends := v_window.sends;
    retry_after := otp_retry_after(v_window.oldest, a.now);
    RETURN;
  END IF;

  -- 3. The bot's passwords name their chat: one live password, one target.
  IF a.unique_password AND EXISTS (
       SELECT 1 FROM otp_api_codes c
        WHERE c.client_id = a.client_id AND c.channel = a.channel AND c.code_hash = a.code_hash
          AND c.expires_at > a.now) THEN
    outcome := 'password_taken';
    RETURN;
  END IF;

  -- 4. The writes.
  INSERT INTO otp_api_codes
    (id, client_id, channel, target, code_hash, ip, created_at, expires_at)
  VALUES (a.id, a.client_id, a.channel, a.target, a.code_hash, a.ip, a.now, a.expires_at);
  WITH s AS (
         INSERT INTO otp_sends
           (challenge_id, client_id, user_id, target, target_block, channel, sent_at)
         VALUES (a.id, a.client_id, '', a.target, coalesce(a.block, ''), a.channel, a.now))
  INSERT INTO otp_send_counts (scope, bucket, shard, sends)
  SELECT v.scope, otp_send_bucket(a.now), otp_send_shard(), 1
    FROM (VALUES ('service'), ('client:' || a.client_id), ('region:' || a.region),
                 ('block:' || a.block)) v(scope)
   WHERE v.scope IS NOT NULL
  ON CONFLICT ON CONSTRAINT pk_otp_send_counts DO UPDATE SET sends = otp_send_counts.sends + 1;
  outcome := 'issued';
END $$;
