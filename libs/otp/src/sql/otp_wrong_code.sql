-- A wrong code, for every front door: counted by otp_count_wrong_code (given p_count as the
-- engine built it), and when it counted, the `verify_failed` event (and `locked` on the last
-- allowed attempt), in one transaction.
CREATE FUNCTION otp_wrong_code(p_count jsonb, p_challenge_id uuid, p_client_id varchar,
                               p_user_id varchar, p_target_masked varchar,
                               p_target_hash bytea, p_ip varchar,
                               OUT outcome varchar, OUT attempts_left integer,
                               OUT retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_count record;
BEGIN
  SELECT * INTO v_count FROM otp_count_wrong_code(p_args => p_count);
  outcome := v_count.outcome;
  attempts_left := v_count.attempts_left;
  retry_after := v_count.retry_after;
  IF v_count.outcome IN ('counted', 'locked') THEN
    PERFORM audit_record(
      p_events => CASE WHEN v_count.outcome = 'locked'
                       THEN ARRAY['verify_failed', 'locked']
                       ELSE ARRAY['verify_failed'] END::varchar[],
      p_actor => NULL, p_client_id => p_client_id, p_user_id => p_user_id,
      p_target_masked => p_target_masked, p_target_hash => p_target_hash, p_ip => p_ip,
      p_challenge_id => p_challenge_id, p_detail => NULL, p_at => now());
  END IF;
END $$;
