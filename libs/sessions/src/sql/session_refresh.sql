-- A refresh token presented (hashed), with the device token's hash and the session named by
-- the caller's access token (`sid`, may be null). Under the token's row lock (two instances
-- refreshing at once: the second waits, then finds the token used), then its session's:
--   'unknown'   no such token;
--   'ended'     its session ended (logout, revocation, reuse);
--   'reused'    already used, after the grace: the session ends ('refresh_reuse'), whatever
--               device and session the caller names;
--   'mismatch'  another session's or another device's token: refused, nothing changes;
--   'repeated'  already used, within p_grace_seconds of that use: the successor it was rotated
--               to (sealed under the presented token) is answered again;
--   'expired'   past its expiry (or its session's);
--   'rotated'   used now: its successor (new_hash, generation + 1) is stored and the sealed
--               successor kept on it for a repeat; the session's expiry slides.
CREATE FUNCTION session_refresh(p_args jsonb,
                                OUT outcome varchar, OUT session_id uuid,
                                OUT client_id varchar, OUT phone_user_id uuid,
                                OUT generation integer, OUT successor_sealed bytea)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  a record;
  t record;
  s record;
  v_expires timestamptz;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    token_hash bytea,
    session_id uuid,
    device_hash bytea,
    new_hash bytea,
    sealed bytea,
    now timestamptz,
    refresh_ttl_seconds integer,
    grace_seconds integer);
  SELECT r.id, r.session_id, r.generation, r.expires_at, r.used_at, r.successor_sealed INTO t
    FROM session_refresh_tokens r WHERE r.token_hash = a.token_hash FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'unknown';
    RETURN;
  END IF;
  SELECT x.id, x.client_id, x.phone_user_id, x.device_hash, x.expires_at, x.ended_at INTO s
    FROM app_sessions x WHERE x.id = t.session_id FOR UPDATE;
  IF s.ended_at IS NOT NULL THEN
    outcome := 'ended';
    RETURN;
  END IF;
  -- A used token after the grace ends the session whoever presents it (APP-AUTH.md): it has
  -- leaked, and its holder need not have the device token or the session's access token too.
  IF t.used_at IS NOT NULL AND a.now > t.used_at + make_interval(secs => a.grace_seconds) THEN
    UPDATE app_sessions SET ended_at = a.now, end_reason = 'refresh_reuse' WHERE id = s.id;
    outcome := 'reused';
    session_id := s.id;
    client_id := s.client_id;
    phone_user_id := s.phone_user_id;
    generation := t.generation;
    RETURN;
  END IF;
  IF (a.session_id IS NOT NULL AND a.session_id <> s.id) OR s.device_hash <> a.device_hash THEN
    outcome := 'mismatch';
    RETURN;
  END IF;
  session_id := s.id;
  client_id := s.client_id;
  phone_user_id := s.phone_user_id;
  generation := t.generation + 1;
  IF t.used_at IS NOT NULL THEN
    outcome := 'repeated';
    successor_sealed := t.successor_sealed;
    RETURN;
  END IF;
  IF t.expires_at <= a.now OR s.expires_at <= a.now THEN
    outcome := 'expired';
    generation := t.generation;
    RETURN;
  END IF;
  v_expires := a.now + make_interval(secs => a.refresh_ttl_seconds);
  UPDATE session_refresh_tokens SET used_at = a.now, successor_sealed = a.sealed WHERE id = t.id;
  INSERT INTO session_refresh_tokens (session_id, token_hash, generation, created_at, expires_at)
  VALUES (s.id, a.new_hash, t.generation + 1, a.now, v_expires);
  UPDATE app_sessions SET refreshed_at = a.now, expires_at = v_expires WHERE id = s.id;
  outcome := 'rotated';
END $$;
