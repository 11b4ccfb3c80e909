/*
 * A code and its message, for every front door, in the caller's transaction: the code
 * (otp_issue, given p_issue as the engine built it: cooldown, limits, the challenge and its
 * send), its message (outbox_enqueue, given p_message as the outbox prepared it; a call in its
 * fallback chain is dropped when the target's calls are at their cap) and the `requested` event
 * (audit_record). Answers otp_issue's outcome; with an issued code, the message's id.
 */
CREATE FUNCTION otp_request_code(
  p_client_id varchar, p_user_id varchar, p_issue jsonb, p_message jsonb,
  p_target_masked varchar, p_target_hash bytea, p_ip varchar,
  OUT outcome varchar, OUT challenge_id uuid, OUT auth_code varchar,
  OUT attempts_left integer, OUT resend_after integer, OUT retry_after integer,
  OUT scope varchar, OUT sends integer, OUT message_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_code record;
  v_message jsonb := p_message;
BEGIN
  SELECT * INTO v_code FROM otp_issue(p_args => p_issue);
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
  IF v_code.call_fallback_allowed = false THEN
    -- The target's calls are at their cap: the chain goes on without its call.
    v_message := jsonb_set(p_message, '{fallbacks}', coalesce((
      SELECT jsonb_agg(f.value ORDER BY f.n)
        FROM jsonb_array_elements(p_message -> 'fallbacks') WITH ORDINALITY AS f(value, n)
       WHERE f.value ->> 'channel' <> 'voice'), '[]'::jsonb));
  END IF;
  message_id := outbox_enqueue(p_message => v_message,
                               p_group_key => 'otp:' || v_code.challenge_id);
  PERFORM audit_record(
    p_events => ARRAY['requested']::varchar[], p_actor => NULL, p_client_id => p_client_id,
    p_user_id => p_user_id, p_target_masked => p_target_masked, p_target_hash => p_target_hash,
    p_ip => p_ip, p_challenge_id => v_code.challenge_id, p_detail => NULL, p_at => now());
END $$;
