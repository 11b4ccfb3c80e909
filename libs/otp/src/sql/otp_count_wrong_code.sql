-- A wrong code, counted atomically under the target's lock: refused while the target is at its
-- cap of wrong codes ('capped' with retry_after); else one more attempt on the challenge, only
-- while it is live and its code is still the one the caller compared (code_hash: a resend
-- meanwhile makes the answer 'changed', and the caller reads again). The last allowed attempt
-- locks the challenge ('locked', and its messages not yet sent are cancelled); otherwise
-- 'counted'. Both with the attempts left.
CREATE FUNCTION otp_count_wrong_code(p_args jsonb,
                                     OUT outcome varchar, OUT attempts_left integer,
                                     OUT retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  a record;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    challenge_id uuid,
    code_hash bytea,
    target varchar,
    now timestamptz,
    max_attempts integer,
    max_failures integer);
  PERFORM pg_advisory_xact_lock(1, hashtext(a.target));
  retry_after := otp_failure_cap(a.target, a.now, a.max_failures);
  IF retry_after IS NOT NULL THEN
    outcome := 'capped';
    RETURN;
  END IF;
  UPDATE otp_challenges
     SET attempts = attempts + 1,
         status = CASE WHEN attempts + 1 >= a.max_attempts THEN 'locked' ELSE status END
   WHERE id = a.challenge_id AND code_hash = a.code_hash
     AND otp_challenge_state(status, attempts, expires_at, a.now, a.max_attempts) = 'live'
  RETURNING a.max_attempts - attempts INTO attempts_left;
  IF NOT FOUND THEN
    outcome := 'changed';
    RETURN;
  END IF;
  INSERT INTO otp_verify_failures (target, challenge_id, failed_at)
  VALUES (a.target, a.challenge_id, a.now);
  outcome := CASE WHEN attempts_left = 0 THEN 'locked' ELSE 'counted' END;
  IF outcome = 'locked' THEN
    -- Even the right code is refused now: its fallbacks must not go (every front door's code).
    PERFORM outbox_cancel_group(p_group_key => 'otp:' || a.challenge_id);
  END IF;
END $$;
