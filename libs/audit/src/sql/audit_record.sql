-- Appends events to the trail: one row for each of p_events, all with the same context. The
-- target is given masked and keyed-hashed (the trail, kept for ever, never holds it in the
-- clear); p_at is when it happened.
CREATE FUNCTION audit_record(p_events varchar[], p_actor varchar, p_client_id varchar,
                             p_user_id varchar, p_target_masked varchar, p_target_hash bytea,
                             p_ip varchar, p_challenge_id uuid, p_detail varchar,
                             p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit_events
    (event, actor, client_id, user_id, target_masked, target_hash, ip, challenge_id, detail,
     created_at)
  SELECT e, p_actor, p_client_id, p_user_id, p_target_masked, p_target_hash, p_ip,
         p_challenge_id, p_detail, p_at
    FROM unnest(p_events) e;
END $$;
