/*
 * Register / resend of the phone link (spec §3: one operation), in one transaction composed of
 * the libs' primitives: the linking rules first (link_state: 409s come before limits, spec §5;
 * a user out of link probes is refused whatever the phone: link_probes_exhausted, p_probes),
 * then the code, its message and the `requested` event (otp_request_code, given p_issue and
 * p_message as the engine and the outbox built them). Answers otp_issue's outcome, or
 * 'account_linked' / 'probes_exhausted' (with retry_after) / 'phone_linked'; with an issued
 * code, whether a phone identity exists for the number and the message's id.
 */
CREATE FUNCTION phone_link_request_code(
  p_client_id varchar, p_user_id varchar, p_phone varchar, p_probes jsonb, p_issue jsonb,
  p_message jsonb,
  p_target_masked varchar, p_target_hash bytea, p_ip varchar,
  OUT outcome varchar, OUT challenge_id uuid, OUT auth_code varchar,
  OUT attempts_left integer, OUT resend_after integer, OUT retry_after integer,
  OUT scope varchar, OUT sends integer, OUT phone_known boolean, OUT message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_link record;
BEGIN
  SELECT * INTO v_link FROM link_state(p_client_id, p_user_id, p_phone);
  IF v_link.account_linked THEN
    outcome := 'account_linked';
    RETURN;
  END IF;
  retry_after := link_probes_exhausted(p_args => p_probes);
  IF retry_after IS NOT NULL THEN
    outcome := 'probes_exhausted';
    RETURN;
  END IF;
  IF v_link.phone_linked THEN
    outcome := 'phone_linked';
    RETURN;
  END IF;

  SELECT * INTO outcome, challenge_id, auth_code, attempts_left, resend_after, retry_after,
                scope, sends, message_id
    FROM otp_request_code(
      p_client_id => p_client_id, p_user_id => p_user_id, p_issue => p_issue,
      p_message => p_message, p_target_masked => p_target_masked,
      p_target_hash => p_target_hash, p_ip => p_ip);
  IF outcome <> 'issued' THEN
    RETURN;
  END IF;
  phone_known := v_link.phone_known;
END $$;
