-- A phone found linked to another user of the same client (409 PHONE_ALREADY_LINKED) tells the
-- asker something about another user: each one is a link probe, counted per user and per client
-- under their locks (exact across instances). Past p_max_per_user or p_max_per_client in the hour
-- the answer is 'limited' with retry_after, so a client's users cannot test at request speed
-- which phones are linked there; else 'counted'.
CREATE FUNCTION link_count_probe(p_client_id varchar, p_user_id varchar, p_now timestamptz,
                                 p_max_per_user integer, p_max_per_client integer,
                                 OUT outcome varchar, OUT retry_after integer)
LANGUAGE plpgsql AS $$
DECLARE
  v_since timestamptz := p_now - interval '1 hour';
  v_window record;
BEGIN
  PERFORM pg_advisory_xact_lock(8, hashtext(p_client_id || '___' || p_user_id)),
          pg_advisory_xact_lock(9, hashtext(p_client_id));
  SELECT count(*)::integer AS probes, min(w.probed_at) AS oldest INTO v_window FROM (
    SELECT probed_at FROM link_probes
     WHERE client_id = p_client_id AND user_id = p_user_id AND probed_at > v_since
     ORDER BY probed_at LIMIT p_max_per_user) w;
  IF v_window.probes < p_max_per_user THEN
    SELECT count(*)::integer AS probes, min(w.probed_at) AS oldest INTO v_window FROM (
      SELECT probed_at FROM link_probes
       WHERE client_id = p_client_id AND probed_at > v_since
       ORDER BY probed_at LIMIT p_max_per_client) w;
    -- Counted even past the client's budget: it marks the user, whom link_probes_exhausted then
    -- refuses everything, so past that budget each account learns one answer at most.
    INSERT INTO link_probes (client_id, user_id, probed_at)
    VALUES (p_client_id, p_user_id, p_now);
    IF v_window.probes < p_max_per_client THEN
      outcome := 'counted';
      RETURN;
    END IF;
  END IF;
  outcome := 'limited';
  retry_after := link_probe_retry_after(v_window.oldest, p_now);
END $$;
