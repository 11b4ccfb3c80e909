-- A wrong code in a sign-in flow: counted and audited as every wrong code is (otp_wrong_code);
-- the last allowed attempt also ends the flow (it can only be started again), in one
-- transaction.
CREATE FUNCTION flow_wrong_code(p_flow_hash bytea, p_count jsonb, p_challenge_id uuid,
                                p_client_id varchar, p_user_id varchar,
                                p_target_masked varchar, p_target_hash bytea, p_ip varchar,
                                OUT outcome varchar, OUT attempts_left integer,
                                OUT retry_after integer)
LANGUAGE plpgsql AS $$
BEGIN
  SELECT w.outcome, w.attempts_left, w.retry_after INTO outcome, attempts_left, retry_after
    FROM otp_wrong_code(p_count => p_count, p_challenge_id => p_challenge_id,
                        p_client_id => p_client_id, p_user_id => p_user_id,
                        p_target_masked => p_target_masked, p_target_hash => p_target_hash,
                        p_ip => p_ip) w;
  IF outcome = 'locked' THEN
    DELETE FROM auth_flows WHERE id_hash = p_flow_hash;
  END IF;
END $$;
