-- Signs a phone identity in to a client's app on one device: a new session and the first
-- refresh token of its family (generation 1). Both tokens come hashed. The session's id.
CREATE FUNCTION session_start(p_args jsonb)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  v_id uuid;
  v_expires timestamptz;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    client_id varchar,
    phone_user_id uuid,
    device_hash bytea,
    refresh_hash bytea,
    now timestamptz,
    refresh_ttl_seconds integer);
  v_expires := a.now + make_interval(secs => a.refresh_ttl_seconds);
  INSERT INTO app_sessions (client_id, phone_user_id, device_hash, created_at, refreshed_at,
                            expires_at)
  VALUES (a.client_id, a.phone_user_id, a.device_hash, a.now, a.now, v_expires)
  RETURNING id INTO v_id;
  INSERT INTO session_refresh_tokens (session_id, token_hash, generation, created_at, expires_at)
  VALUES (v_id, a.refresh_hash, 1, a.now, v_expires);
  RETURN v_id;
END $$;
