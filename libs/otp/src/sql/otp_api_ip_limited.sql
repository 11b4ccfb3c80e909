-- The first of a client's IP limits of a channel (p_ips: [{minutes, rate}]) that the address has
-- reached at p_now, or no row. Exact when the caller holds the address's lock (6).
CREATE FUNCTION otp_api_ip_limited(p_client_id varchar, p_channel varchar, p_ip varchar,
                                   p_ips jsonb, p_now timestamptz,
                                   OUT minutes integer, OUT rate integer)
RETURNS SETOF record LANGUAGE sql STABLE AS $$
  SELECT l.minutes, l.rate
    FROM jsonb_to_recordset(coalesce(p_ips, '[]'::jsonb)) AS l(minutes integer, rate integer)
   WHERE p_ip IS NOT NULL
     AND otp_api_ip_hits(p_client_id, p_channel, p_ip,
                         p_now - make_interval(mins => l.minutes), l.rate) >= l.rate
   ORDER BY l.minutes, l.rate
   LIMIT 1
$$;
