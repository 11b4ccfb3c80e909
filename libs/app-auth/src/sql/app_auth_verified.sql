-- The right sign-in code: the challenge marked verified (otp_mark_verified, given p_mark as the
-- engine built it; 'changed' when it stopped being live or its code was replaced meanwhile, and
-- nothing is written), the phone identity found or created (phone_user_ensure), a session
-- started for it (session_start, given p_session as the session store drafted it, with the
-- identity filled in) and the `verified` event, in one transaction.
CREATE FUNCTION app_auth_verified(p_mark jsonb, p_session jsonb, p_challenge_id uuid,
                                  p_client_id varchar, p_user_id varchar, p_phone varchar,
                                  p_target_masked varchar, p_target_hash bytea, p_ip varchar,
                                  OUT outcome varchar, OUT phone_user_id uuid,
                                  OUT phone_user_created boolean, OUT session_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_user record;
BEGIN
  IF NOT otp_mark_verified(p_args => p_mark) THEN
    outcome := 'changed';
    RETURN;
  END IF;
  SELECT * INTO v_user FROM phone_user_ensure(p_phone => p_phone);
  session_id := session_start(
    p_args => p_session || jsonb_build_object('phone_user_id', v_user.phone_user_id));
  PERFORM audit_record(
    p_events => ARRAY['verified']::varchar[], p_actor => NULL,
    p_client_id => p_client_id, p_user_id => p_user_id, p_target_masked => p_target_masked,
    p_target_hash => p_target_hash, p_ip => p_ip, p_challenge_id => p_challenge_id,
    p_detail => 'app sign-in', p_at => now());
  outcome := 'verified';
  phone_user_id := v_user.phone_user_id;
  phone_user_created := v_user.phone_user_created;
END $$;
