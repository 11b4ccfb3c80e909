-- What verify needs of the owner's newest challenge of the target with that auth code: where it
-- stands (otp_challenge_state), its attempts left and code hash, and the target's cap on wrong
-- codes (seconds to wait, or NULL). No row: no such challenge.
CREATE FUNCTION otp_find_challenge(p_client_id varchar, p_user_id varchar, p_target varchar,
                                   p_auth_code varchar, p_now timestamptz,
                                   p_max_attempts integer, p_max_failures integer)
RETURNS TABLE (challenge_id uuid, state varchar, attempts_left integer, code_hash bytea,
               retry_after integer)
LANGUAGE sql STABLE AS $$
  SELECT c.id, otp_challenge_state(c.status, c.attempts, c.expires_at, p_now, p_max_attempts),
         greatest(0, p_max_attempts - c.attempts), c.code_hash,
         otp_failure_cap(p_target, p_now, p_max_failures)
    FROM otp_challenges c
   WHERE c.client_id = p_client_id AND c.user_id = p_user_id AND c.target = p_target
     AND c.auth_code = p_auth_code
   ORDER BY c.created_at DESC
   LIMIT 1
$$;
