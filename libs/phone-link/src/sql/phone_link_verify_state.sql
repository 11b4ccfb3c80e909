-- What verify reads in one go: the linking rules' view of the user and the phone (link_state),
-- whether the user is out of link probes (link_probes_exhausted: seconds to wait, else NULL),
-- and the challenge with that auth code (otp_find_challenge: its state, attempts left, code hash
-- and the phone's cap on wrong codes). challenge_id NULL: no such challenge.
CREATE FUNCTION phone_link_verify_state(p_client_id varchar, p_user_id varchar,
                                        p_target varchar, p_auth_code varchar,
                                        p_now timestamptz, p_max_attempts integer,
                                        p_max_failures integer, p_probes jsonb)
RETURNS TABLE (account_linked boolean, link_challenge_id uuid, link_phone_user_id uuid,
               link_phone_user_created boolean, link_linked_at timestamptz, phone_linked boolean,
               probes_retry_after integer, challenge_id uuid,
               state varchar, attempts_left integer, code_hash bytea, retry_after integer)
LANGUAGE sql STABLE AS $$
  SELECT l.account_linked, l.link_challenge_id, l.link_phone_user_id, l.link_phone_user_created,
         l.link_linked_at, l.phone_linked, link_probes_exhausted(p_args => p_probes),
         c.challenge_id, c.state, c.attempts_left, c.code_hash, c.retry_after
    FROM link_state(p_client_id, p_user_id, p_target) l
    LEFT JOIN otp_find_challenge(p_client_id, p_user_id, p_target, p_auth_code, p_now,
                                 p_max_attempts, p_max_failures) c ON true
$$;
