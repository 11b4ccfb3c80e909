-- Seconds until something that happened at p_oldest leaves the hour before p_now: when an hourly
-- limit frees a place (1 to 3600; a missing oldest counts as now). Stable, as timestamptz +
-- interval is: a function declared more constant than its body is never inlined.
CREATE FUNCTION otp_retry_after(p_oldest timestamptz, p_now timestamptz)
RETURNS integer LANGUAGE sql STABLE AS $$
  SELECT least(3600, greatest(1, ceil(extract(epoch FROM
           coalesce(p_oldest, p_now) + interval '1 hour' - p_now))))::integer
$$;
