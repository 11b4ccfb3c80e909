-- A region's or number block's codes in the pumping guard's window, the hour before p_now in
-- 5-minute buckets: the settled sends (those whose codes could have been verified by now: sent
-- at least a code's lifetime ago) and the verifications. Zeros for a NULL scope. One row, a
-- SQL function PostgreSQL inlines into the register's read of its limits (as PL/pgSQL it was two
-- more statements a register ran on their own).
CREATE FUNCTION otp_conversion(p_scope varchar, p_now timestamptz, p_code_lifetime interval)
RETURNS TABLE (settled integer, verified integer)
LANGUAGE sql STABLE AS $$
  SELECT coalesce(sum(k.sends) FILTER (
           WHERE k.bucket < otp_send_bucket(p_now - p_code_lifetime)), 0)::integer,
         coalesce(sum(k.verified), 0)::integer
    FROM otp_send_counts k
   WHERE k.scope = p_scope AND k.bucket >= otp_send_bucket(p_now) - interval '55 minutes'
$$;
