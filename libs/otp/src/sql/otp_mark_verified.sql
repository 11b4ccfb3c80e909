-- The right code: the challenge becomes verified, only while it is live and its code is still
-- the one the caller matched (a resent code makes the previous one worthless). The row lock
-- serialises double submits: the second finds it verified. Whether it was marked.
CREATE FUNCTION otp_mark_verified(p_challenge_id uuid, p_code_hash bytea, p_now timestamptz,
                                  p_max_attempts integer)
RETURNS boolean LANGUAGE plpgsql AS $$
BEGIN
  UPDATE otp_challenges SET status = 'verified', verified_at = p_now
   WHERE id = p_challenge_id AND code_hash = p_code_hash
     AND otp_challenge_state(status, attempts, expires_at, p_now, p_max_attempts) = 'live';
  RETURN FOUND;
END $$;
