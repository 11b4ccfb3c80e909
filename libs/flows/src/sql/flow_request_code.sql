/*
 * A code for the current target of a sign-in flow (its phone or email module, or the otp
 * module's `send`), in one transaction composed of the libs' primitives: the flow, locked and
 * still where the caller read it (else 'flow_gone': expired, ended, or moved on by a concurrent
 * request), then the code, its message and the `requested` event (otp_request_code). With a code
 * issued, the flow keeps the target and the challenge, and moves on by p_advance modules.
 * Answers otp_issue's outcome (and the message's id when issued).
 */
CREATE FUNCTION flow_request_code(
  p_flow_hash bytea, p_position integer, p_advance integer, p_now timestamptz,
  p_client_id varchar, p_user_id varchar, p_target varchar, p_target_kind varchar,
  p_issue jsonb, p_message jsonb,
  p_target_masked varchar, p_target_hash bytea, p_ip varchar,
  OUT outcome varchar, OUT challenge_id uuid, OUT auth_code varchar,
  OUT attempts_left integer, OUT resend_after integer, OUT retry_after integer,
  OUT scope varchar, OUT sends integer, OUT message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_code record;
BEGIN
  PERFORM 1 FROM auth_flows f
    WHERE f.id_hash = p_flow_hash AND f.position = p_position AND f.expires_at > p_now
    FOR UPDATE;
  IF NOT FOUND THEN
    outcome := 'flow_gone';
    RETURN;
  END IF;

  SELECT * INTO v_code FROM otp_request_code(
    p_client_id => p_client_id, p_user_id => p_user_id, p_issue => p_issue,
    p_message => p_message, p_target_masked => p_target_masked, p_target_hash => p_target_hash,
    p_ip => p_ip);
  outcome := v_code.outcome;
  challenge_id := v_code.challenge_id;
  auth_code := v_code.auth_code;
  attempts_left := v_code.attempts_left;
  resend_after := v_code.resend_after;
  retry_after := v_code.retry_after;
  scope := v_code.scope;
  sends := v_code.sends;
  message_id := v_code.message_id;
  IF v_code.outcome <> 'issued' THEN
    RETURN;
  END IF;
  UPDATE auth_flows
     SET target = p_target, target_kind = p_target_kind, challenge_id = v_code.challenge_id,
         auth_code = v_code.auth_code, position = position + p_advance
   WHERE id_hash = p_flow_hash;
END $$;
