-- A wrong code, counted atomically under the target's lock: refused while the target is at its
-- cap of wrong codes ('capped' with retry_after); else one more attempt on the challenge, only
-- while it is live and its code is still the one the caller compared (p_code_hash: a resend
-- meanwhile makes the answer 'changed', and the caller reads again). The last allowed attempt
-- locks the challenge ('locked'); otherwise 'counted'. Both with the attempts left.
CREATE FUNCTION otp_count_wrong_code(p_challenge_id uuid, p_code_hash bytea, p_target varchar,
                                     p_now timestamptz, p_max_attempts integer,
                                     p_max_failures integer,
                                     OUT outcome varchar, OUT attempts_left integer,
                                     OUT retry_after integer)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  PERFORM pg_advisory_xact_lock(1, hashtext(p_target));
  retry_after := otp_failure_cap(p_target, p_now, p_max_failures);
  IF retry_after IS NOT NULL THEN
    outcome := 'capped';
    RETURN;
  END IF;
  UPDATE otp_challenges
     SET attempts = attempts + 1,
         status = CASE WHEN attempts + 1 >= p_max_attempts THEN 'locked' ELSE status END
   WHERE id = p_challenge_id AND code_hash = p_code_hash
     AND otp_challenge_state(status, attempts, expires_at, p_now, p_max_attempts) = 'live'
  RETURNING p_max_attempts - attempts INTO attempts_left;
  IF NOT FOUND THEN
    outcome := 'changed';
    RETURN;
  END IF;
  INSERT INTO otp_verify_failures (target, challenge_id, failed_at)
  VALUES (p_target, p_challenge_id, p_now);
  outcome := CASE WHEN attempts_left = 0 THEN 'locked' ELSE 'counted' END;
END $$;
