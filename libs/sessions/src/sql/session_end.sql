-- Ends sessions at once (their access and refresh tokens stop working): one session (of a
-- client, when given: a logout), every session of a phone identity (of one client, when given),
-- or every session of a client. Sessions already ended keep their first reason. How many ended.
CREATE FUNCTION session_end(p_args jsonb)
RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  v_count integer;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    session_id uuid,
    client_id varchar,
    phone_user_id uuid,
    reason varchar,
    now timestamptz);
  IF a.session_id IS NOT NULL THEN
    UPDATE app_sessions SET ended_at = a.now, end_reason = a.reason
     WHERE id = a.session_id AND ended_at IS NULL
       AND (a.client_id IS NULL OR client_id = a.client_id);
  ELSIF a.phone_user_id IS NOT NULL THEN
    UPDATE app_sessions SET ended_at = a.now, end_reason = a.reason
     WHERE phone_user_id = a.phone_user_id AND ended_at IS NULL
       AND (a.client_id IS NULL OR client_id = a.client_id);
  ELSIF a.client_id IS NOT NULL THEN
    UPDATE app_sessions SET ended_at = a.now, end_reason = a.reason
     WHERE client_id = a.client_id AND ended_at IS NULL;
  ELSE
    RAISE EXCEPTION 'session_end needs a session, a phone identity or a client';
  END IF;
  GET DIAGNOSTICS v_count = ROW_COUNT;
  RETURN v_count;
END $$;
