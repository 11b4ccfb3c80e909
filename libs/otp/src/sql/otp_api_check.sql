/*
 * A check of the OTP API (OTP-API.md "Check"): whether p_args.code_hash is one of the live
 * passwords of (client, channel, target). Under the target's lock (1), so concurrent wrong checks
 * count exactly:
 *
 * - no live password: 'none';
 * - the newest live password (the fewest wrong checks) has OTP_MAX_ATTEMPTS wrong checks: every
 *   check answers 'capped' until a new password is created (its count starts at 0);
 * - a live password matches: 'matched' (it stays valid until its lifetime ends); its first match
 *   counts as verified for the pumping guard (region and number block);
 * - else every live password of the target counts the wrong check: 'wrong', or 'capped' when
 *   that was the last one allowed.
 */
CREATE FUNCTION otp_api_check(p_args jsonb, OUT outcome varchar)
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  v_live record;
  v_match uuid;
  v_first boolean;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    client_id varchar,
    channel varchar,
    target varchar,
    code_hash bytea,
    now timestamptz,
    max_attempts integer,
    region varchar,
    block varchar);
  PERFORM pg_advisory_xact_lock(1, hashtext(a.target));
  SELECT count(*) AS live, min(c.wrong_checks) AS wrong INTO v_live FROM otp_api_codes c
   WHERE c.client_id = a.client_id AND c.channel = a.channel AND c.target = a.target
     AND c.expires_at > a.now;
  IF v_live.live = 0 THEN
    outcome := 'none';
    RETURN;
  END IF;
  IF v_live.wrong >= a.max_attempts THEN
    outcome := 'capped';
    RETURN;
  END IF;
  SELECT c.id, c.verified_at IS NULL INTO v_match, v_first FROM otp_api_codes c
   WHERE c.client_id = a.client_id AND c.channel = a.channel AND c.target = a.target
     AND c.code_hash = a.code_hash AND c.expires_at > a.now
   ORDER BY c.created_at DESC LIMIT 1;
  IF v_match IS NOT NULL THEN
    IF v_first THEN
      UPDATE otp_api_codes SET verified_at = a.now WHERE id = v_match;
      INSERT INTO otp_send_counts (scope, bucket, shard, sends, verified)
      SELECT v.scope, otp_send_bucket(a.now), otp_send_shard(), 0, 1
        FROM (VALUES ('region:' || a.region), ('block:' || a.block)) v(scope)
       WHERE v.scope IS NOT NULL
      ON CONFLICT ON CONSTRAINT pk_otp_send_counts
        DO UPDATE SET verified = otp_send_counts.verified + 1;
    END IF;
    outcome := 'matched';
    RETURN;
  END IF;
  UPDATE otp_api_codes c SET wrong_checks = c.wrong_checks + 1
   WHERE c.client_id = a.client_id AND c.channel = a.channel AND c.target = a.target
     AND c.expires_at > a.now;
  outcome := CASE WHEN v_live.wrong + 1 >= a.max_attempts THEN 'capped' ELSE 'wrong' END;
END $$;
