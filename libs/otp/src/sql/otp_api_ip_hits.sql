-- What an IP limit of the OTP API counts for one client, channel and address since p_since: the
-- passwords created for that address and the wrong guesses it made on GET /target. Counting
-- stops at p_limit (a limit only needs to know whether it is reached). PL/pgSQL: a SQL function
-- with sub-selects is never inlined, and would be parsed and planned on every request.
CREATE FUNCTION otp_api_ip_hits(p_client_id varchar, p_channel varchar, p_ip varchar,
                                p_since timestamptz, p_limit integer)
RETURNS integer LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT count(*)::integer FROM (SELECT 1 FROM otp_api_codes
           WHERE client_id = p_client_id AND channel = p_channel AND ip = p_ip
             AND created_at > p_since LIMIT p_limit) c)
       + (SELECT count(*)::integer FROM (SELECT 1 FROM otp_api_guesses
           WHERE client_id = p_client_id AND channel = p_channel AND ip = p_ip
             AND guessed_at > p_since LIMIT p_limit) g);
END $$;
