-- Where a challenge stands: 'live' (takes codes and resends), 'expired', 'locked' or 'verified'.
-- The one definition: every statement that needs a live challenge asks this function (an
-- expression PostgreSQL inlines), and the services only read its answer. A challenge past the
-- attempts allowed now is locked even if OTP_MAX_ATTEMPTS was raised since.
CREATE FUNCTION otp_challenge_state(p_status varchar, p_attempts integer,
                                    p_expires_at timestamptz, p_now timestamptz,
                                    p_max_attempts integer)
RETURNS varchar LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN p_status = 'verified' THEN 'verified'
              WHEN p_status = 'locked' OR p_attempts >= p_max_attempts THEN 'locked'
              WHEN p_expires_at <= p_now THEN 'expired'
              ELSE 'live' END
$$;
