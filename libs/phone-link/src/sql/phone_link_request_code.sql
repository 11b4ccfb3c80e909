/*
 * Register / resend of the phone link (spec §3: one operation), in one transaction composed of
 * the libs' primitives: the linking rules first (link_state: 409s come before limits, spec §5),
 * then the code (otp_issue: cooldown, limits, the challenge and its send), its message
 * (outbox_enqueue) and the `requested` event (audit_record). Answers otp_issue's outcome, or
 * 'account_linked' / 'phone_linked'; with an issued code, whether a phone identity exists for
 * the number and the message's id.
 */
CREATE FUNCTION phone_link_request_code(
  p_client_id varchar, p_user_id varchar, p_target varchar, p_target_kind varchar,
  p_block varchar, p_channel varchar,
  p_now timestamptz, p_expires_at timestamptz, p_challenge_id uuid, p_live_id uuid,
  p_auth_code varchar, p_code_hash bytea, p_cooldown_seconds integer, p_max_attempts integer,
  p_max_per_target integer, p_max_per_owner integer, p_max_per_block integer,
  p_max_per_service integer, p_client_budget integer, p_budget_margin integer,
  p_payload bytea, p_lease_until timestamptz, p_message_audit jsonb,
  p_target_masked varchar, p_target_hash bytea, p_ip varchar,
  OUT outcome varchar, OUT challenge_id uuid, OUT auth_code varchar,
  OUT attempts_left integer, OUT resend_after integer, OUT retry_after integer,
  OUT scope varchar, OUT sends integer, OUT phone_known boolean, OUT message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_link record;
  v_code record;
BEGIN
  SELECT * INTO v_link FROM link_state(p_client_id, p_user_id, p_target);
  IF v_link.account_linked THEN
    outcome := 'account_linked';
    RETURN;
  END IF;
  IF v_link.phone_linked THEN
    outcome := 'phone_linked';
    RETURN;
  END IF;

  SELECT * INTO v_code FROM otp_issue(
    p_client_id => p_client_id, p_user_id => p_user_id, p_target => p_target,
    p_target_kind => p_target_kind, p_block => p_block, p_channel => p_channel, p_now => p_now,
    p_expires_at => p_expires_at, p_challenge_id => p_challenge_id, p_live_id => p_live_id,
    p_auth_code => p_auth_code, p_code_hash => p_code_hash,
    p_cooldown_seconds => p_cooldown_seconds, p_max_attempts => p_max_attempts,
    p_max_per_target => p_max_per_target, p_max_per_owner => p_max_per_owner,
    p_max_per_block => p_max_per_block, p_max_per_service => p_max_per_service,
    p_client_budget => p_client_budget, p_budget_margin => p_budget_margin);
  outcome := v_code.outcome;
  challenge_id := v_code.challenge_id;
  auth_code := v_code.auth_code;
  attempts_left := v_code.attempts_left;
  resend_after := v_code.resend_after;
  retry_after := v_code.retry_after;
  scope := v_code.scope;
  sends := v_code.sends;
  IF v_code.outcome <> 'issued' THEN
    RETURN;
  END IF;

  message_id := outbox_enqueue(
    p_channel => p_channel, p_recipient => p_target, p_payload => p_payload,
    p_lease_until => p_lease_until, p_expires_at => p_expires_at, p_created_at => p_now,
    p_group_key => 'otp:' || v_code.challenge_id, p_audit => p_message_audit);
  PERFORM audit_record(
    p_events => ARRAY['requested']::varchar[], p_actor => NULL, p_client_id => p_client_id,
    p_user_id => p_user_id, p_target_masked => p_target_masked, p_target_hash => p_target_hash,
    p_ip => p_ip, p_challenge_id => v_code.challenge_id, p_detail => NULL, p_at => now());
  phone_known := v_link.phone_known;
END $$;
