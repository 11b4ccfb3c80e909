-- Whether a user is refused every register and verify for now: answers retry_after (seconds),
-- or NULL. Refused are a user past its own hourly budget of link probes, and a user that has
-- probed while its client is past the client's budget. Refusing whatever the phone is what
-- closes the oracle: a 429 for linked phones alone would still tell them apart from the others'
-- 200 or 404. A read (link_count_probe counts, under the locks); p_args from LinkRepository.
CREATE FUNCTION link_probes_exhausted(p_args jsonb) RETURNS integer
LANGUAGE plpgsql STABLE AS $$
DECLARE
  a record;
  v_user record;
  v_client record;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    client_id varchar, user_id varchar, now timestamptz,
    max_per_user integer, max_per_client integer);
  IF a.now IS NULL OR a.max_per_user IS NULL OR a.max_per_client IS NULL THEN
    RAISE EXCEPTION 'link_probes_exhausted: now, max_per_user and max_per_client are required';
  END IF;
  SELECT count(*)::integer AS probes, min(w.probed_at) AS oldest INTO v_user FROM (
    SELECT probed_at FROM link_probes
     WHERE client_id = a.client_id AND user_id = a.user_id
       AND probed_at > a.now - interval '1 hour'
     ORDER BY probed_at LIMIT a.max_per_user) w;
  IF v_user.probes = 0 THEN
    RETURN NULL;
  END IF;
  IF v_user.probes >= a.max_per_user THEN
    RETURN link_probe_retry_after(v_user.oldest, a.now);
  END IF;
  SELECT count(*)::integer AS probes, min(w.probed_at) AS oldest INTO v_client FROM (
    SELECT probed_at FROM link_probes
     WHERE client_id = a.client_id AND probed_at > a.now - interval '1 hour'
     ORDER BY probed_at LIMIT a.max_per_client) w;
  IF v_client.probes >= a.max_per_client THEN
    RETURN link_probe_retry_after(v_client.oldest, a.now);
  END IF;
  RETURN NULL;
END $$;
