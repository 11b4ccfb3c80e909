/*
 * GET /target of the OTP API: the target of a live password of (client, channel), found by its
 * keyed hash. An address at one of the client's IP limits of the channel is refused without a
 * look ('ip_limit'); a password that names no target (or, created by the caller for two, no
 * single one) is a wrong guess, recorded for the address: 'not_found'. Else 'found' and target.
 */
CREATE FUNCTION otp_api_find_target(p_args jsonb, OUT outcome varchar, OUT target varchar)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  a record;
  v_ips jsonb;
  v_targets varchar[];
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    client_id varchar,
    channel varchar,
    code_hash bytea,
    ip varchar,
    now timestamptz);
  IF a.ip IS NOT NULL THEN
    PERFORM pg_advisory_xact_lock(6, hashtext(a.client_id || '___' || a.channel || '___' || a.ip));
    SELECT l.ips INTO v_ips FROM otp_api_limits l
     WHERE l.client_id = a.client_id AND l.channel = a.channel;
    IF EXISTS (SELECT 1 FROM otp_api_ip_limited(a.client_id, a.channel, a.ip, v_ips, a.now)) THEN
      outcome := 'ip_limit';
      RETURN;
    END IF;
  END IF;
  SELECT array_agg(DISTINCT c.target) INTO v_targets FROM otp_api_codes c
   WHERE c.client_id = a.client_id AND c.channel = a.channel AND c.code_hash = a.code_hash
     AND c.expires_at > a.now;
  IF cardinality(v_targets) = 1 THEN
    outcome := 'found';
    target := v_targets[1];
    RETURN;
  END IF;
  IF a.ip IS NOT NULL THEN
    INSERT INTO otp_api_guesses (client_id, channel, ip, guessed_at)
    VALUES (a.client_id, a.channel, a.ip, a.now);
  END IF;
  outcome := 'not_found';
END $$;
