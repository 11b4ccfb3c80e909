-- The cap on wrong codes per target across its challenges: when the target has p_max_failures
-- of them in the hour before p_now, the seconds until the oldest leaves the hour; else NULL.
-- Exact when the caller holds the target's lock (otp_count_wrong_code does).
CREATE FUNCTION otp_failure_cap(p_target varchar, p_now timestamptz, p_max_failures integer)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_failures integer;
  v_oldest timestamptz;
BEGIN
  SELECT count(*)::integer, min(f.failed_at) INTO v_failures, v_oldest FROM (
    SELECT failed_at FROM otp_verify_failures
     WHERE target = p_target AND failed_at > p_now - interval '1 hour'
     ORDER BY failed_at LIMIT p_max_failures) f;
  IF v_failures < p_max_failures THEN
    RETURN NULL;
  END IF;
  RETURN otp_retry_after(v_oldest, p_now);
END $$;
