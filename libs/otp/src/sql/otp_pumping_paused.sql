-- The pumping guard's rule: sends to a region or number block pause when, of at least
-- p_min_sends settled sends in the window, fewer than the share p_min_conversion were verified.
CREATE FUNCTION otp_pumping_paused(p_settled integer, p_verified integer, p_min_sends integer,
                                   p_min_conversion real)
RETURNS boolean LANGUAGE sql IMMUTABLE AS $$
  SELECT p_settled >= p_min_sends AND p_verified < p_min_conversion * p_settled
$$;
