/*
 * The right code in a sign-in flow, in one transaction: the flow, locked and still at this otp
 * module (else 'flow_gone'); the challenge marked verified (otp_mark_verified, given p_mark as
 * the engine built it; 'changed' when it stopped being live or its code was replaced meanwhile,
 * and nothing is written); the `verified` event. Then either the flow moves on to its next
 * module, keeping the checked target ('advanced'), or, at its last module (p_session given:
 * session_start_web's argument), the phone identity of the checked phone (created if new), a web
 * session for it and the flow's end ('signed_in', with the session's row and the identity).
 */
CREATE FUNCTION flow_code_verified(
  p_flow_hash bytea, p_position integer, p_now timestamptz, p_mark jsonb, p_challenge_id uuid,
  p_client_id varchar, p_user_id varchar, p_target_kind varchar, p_target varchar,
  p_session jsonb, p_target_masked varchar, p_target_hash bytea, p_ip varchar,
  OUT outcome varchar, OUT session_row_id uuid, OUT phone_user_id uuid)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_flow record;
  v_phone varchar;
  v_email varchar;
BEGIN
  SELECT f.verified_phone, f.verified_email INTO v_flow FROM auth_flows f
   WHERE f.id_hash = p_flow_hash AND f.position = p_position AND f.expires_at > p_now
   FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'flow_gone';
    RETURN;
  END IF;
  IF NOT otp_mark_verified(p_args => p_mark) THEN
    outcome := 'changed';
    RETURN;
  END IF;
  PERFORM audit_record(
    p_events => ARRAY['verified']::varchar[], p_actor => NULL, p_client_id => p_client_id,
    p_user_id => p_user_id, p_target_masked => p_target_masked, p_target_hash => p_target_hash,
    p_ip => p_ip, p_challenge_id => p_challenge_id, p_detail => NULL, p_at => now());
  v_phone := CASE WHEN p_target_kind = 'phone' THEN p_target ELSE v_flow.verified_phone END;
  v_email := CASE WHEN p_target_kind = 'email' THEN p_target ELSE v_flow.verified_email END;

  IF p_session IS NULL THEN
    UPDATE auth_flows
       SET verified_phone = v_phone, verified_email = v_email, position = position + 1,
           target = NULL, target_kind = NULL, challenge_id = NULL, auth_code = NULL
     WHERE id_hash = p_flow_hash;
    outcome := 'advanced';
    RETURN;
  END IF;

  IF v_phone IS NOT NULL THEN
    SELECT u.phone_user_id INTO phone_user_id FROM phone_user_upsert(v_phone) u;
  END IF;
  session_row_id := session_start_web(p_args => p_session || jsonb_build_object(
    'phone_user_id', phone_user_id, 'email', v_email));
  DELETE FROM auth_flows WHERE id_hash = p_flow_hash;
  outcome := 'signed_in';
END $$;
