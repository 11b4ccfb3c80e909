-- Which of a counter bucket's 8 rows (otp_send_counts) this session's writes go to: its backend's.
-- A counter row stays locked until its transaction commits; a backend runs one transaction at a
-- time, and a pool's connections are consecutive backends, so its concurrent registers write
-- distinct rows (backends of other instances may still share one) instead of meeting on a random
-- row (measured with pgbench: a register 1.2x to 1.25x as fast, DB alone).
CREATE FUNCTION otp_send_shard()
RETURNS smallint LANGUAGE sql STABLE AS $$
  SELECT (pg_backend_pid() % 8)::smallint
$$;
