/*
 * A password of the OTP API with its message and its event, in one transaction composed of the
 * libs' primitives: otp_api_issue (the client's and the service's limits, the password and its
 * send: given p_issue as OtpApiCodes built it), outbox_enqueue (the message, as the outbox
 * prepared it: its own group, so it supersedes nothing, as other passwords of the target stay
 * live) and the `requested` event (audit_record). Answers otp_api_issue's outcome and, with an
 * issued password, the message's id.
 */
CREATE FUNCTION otp_api_create(
  p_client_id varchar, p_code_id uuid, p_issue jsonb, p_message jsonb,
  p_target_masked varchar, p_target_hash bytea, p_ip varchar, p_detail varchar,
  OUT outcome varchar, OUT minutes integer, OUT rate integer, OUT scope varchar,
  OUT sends integer, OUT retry_after integer, OUT message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_code record;
BEGIN
  SELECT * INTO v_code FROM otp_api_issue(p_args => p_issue);
  outcome := v_code.outcome;
  minutes := v_code.minutes;
  rate := v_code.rate;
  scope := v_code.scope;
  sends := v_code.sends;
  retry_after := v_code.retry_after;
  IF v_code.outcome <> 'issued' THEN
    RETURN;
  END IF;
  message_id := outbox_enqueue(p_message => p_message, p_group_key => 'otp-api:' || p_code_id);
  PERFORM audit_record(
    p_events => ARRAY['requested']::varchar[], p_actor => 'partner', p_client_id => p_client_id,
    p_user_id => NULL, p_target_masked => p_target_masked, p_target_hash => p_target_hash,
    p_ip => p_ip, p_challenge_id => p_code_id, p_detail => p_detail, p_at => now());
END $$;
