-- The right code of the phone link: the challenge marked verified (otp_mark_verified, given
-- p_mark as the engine built it; 'changed' when it stopped being live or its code was replaced
-- meanwhile, and nothing is written), the user linked to the phone identity (link_phone; a
-- unique violation raises and nothing is kept), and the `verified` and `linked` events, in one
-- transaction. Answers the link (phone identity, whether new, when) as the transaction made it.
CREATE FUNCTION phone_link_verified(p_mark jsonb, p_challenge_id uuid, p_client_id varchar,
                                    p_user_id varchar, p_phone varchar,
                                    p_wallet_address varchar, p_client_name varchar,
                                    p_target_masked varchar, p_target_hash bytea, p_ip varchar,
                                    OUT outcome varchar, OUT phone_user_id uuid,
                                    OUT phone_user_created boolean, OUT linked_at timestamptz)
LANGUAGE plpgsql AS $$
DECLARE
  v_link record;
BEGIN
  IF NOT otp_mark_verified(p_args => p_mark) THEN
    outcome := 'changed';
    RETURN;
  END IF;
  SELECT * INTO v_link FROM link_phone(
    p_client_id => p_client_id, p_user_id => p_user_id, p_phone => p_phone,
    p_wallet_address => p_wallet_address, p_client_name => p_client_name,
    p_challenge_id => p_challenge_id);
  PERFORM audit_record(
    p_events => ARRAY['verified', 'linked']::varchar[], p_actor => NULL,
    p_client_id => p_client_id, p_user_id => p_user_id, p_target_masked => p_target_masked,
    p_target_hash => p_target_hash, p_ip => p_ip, p_challenge_id => p_challenge_id,
    p_detail => NULL, p_at => now());
  outcome := 'linked';
  phone_user_id := v_link.phone_user_id;
  phone_user_created := v_link.phone_user_created;
  linked_at := v_link.linked_at;
END $$;
