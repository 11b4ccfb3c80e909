-- The 5-minute bucket of the shared budgets' counters (otp_send_counts) that p_at falls in.
CREATE FUNCTION otp_send_bucket(p_at timestamptz)
RETURNS timestamptz LANGUAGE sql IMMUTABLE AS $$
  SELECT to_timestamp(floor(extract(epoch FROM p_at) / 300) * 300)
$$;
