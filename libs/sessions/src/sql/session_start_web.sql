-- Signs a website in (FLOWS.md): a session of kind 'web' in the one session store, named by an
-- opaque id that the browser keeps in its cookie and the database only as a hash. Its realm is
-- a partner client (client_id) or the service's own (NULL); its identity a phone identity, an
-- email address, or both. A fixed lifetime: nothing renews it. The session's row id.
CREATE FUNCTION session_start_web(p_args jsonb)
RETURNS uuid
LANGUAGE plpgsql AS $$
DECLARE
  a record;
  v_id uuid;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    client_id varchar,
    phone_user_id uuid,
    email varchar,
    token_hash bytea,
    now timestamptz,
    ttl_seconds integer);
  INSERT INTO app_sessions (kind, client_id, phone_user_id, email, token_hash, created_at,
                            refreshed_at, expires_at)
  VALUES ('web', a.client_id, a.phone_user_id, a.email, a.token_hash, a.now, a.now,
          a.now + make_interval(secs => a.ttl_seconds))
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;
