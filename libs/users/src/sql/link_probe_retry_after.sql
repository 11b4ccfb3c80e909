-- Seconds until the oldest probe of a full hourly window leaves it (1 to 3600). Stable, as
-- timestamptz + interval is: a function declared more constant than its body is never inlined.
CREATE FUNCTION link_probe_retry_after(p_oldest timestamptz, p_now timestamptz) RETURNS integer
LANGUAGE sql STABLE AS $$
  SELECT least(3600, greatest(1, ceil(extract(epoch FROM
    p_oldest + interval '1 hour' - p_now))))::integer
$$;
