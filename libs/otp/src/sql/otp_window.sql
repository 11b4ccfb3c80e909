-- Sends of one scope in the hour before p_now: how many (counting stops at p_limit: a limit
-- only needs to know whether it is reached) and the oldest (for Retry-After). Exact.
-- Scopes: 'target', 'calls' (the target's voice calls, fallbacks included), 'owner' (the partner user), 'block' (the
-- number block), 'client', 'service'.
CREATE FUNCTION otp_window(p_scope varchar, p_client_id varchar, p_user_id varchar,
                           p_target varchar, p_block varchar, p_now timestamptz,
                           p_limit integer, OUT sends integer, OUT oldest timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
DECLARE
  v_since timestamptz := p_now - interval '1 hour';
BEGIN
  CASE p_scope
    WHEN 'target' THEN
      SELECT count(*)::integer, min(w.sent_at) INTO sends, oldest FROM (
        SELECT sent_at FROM otp_sends WHERE target = p_target AND sent_at > v_since
         ORDER BY sent_at LIMIT p_limit) w;
    WHEN 'calls' THEN
      -- A call sent first, and a call written as a fallback (CHANNELS.md: a fallback counts
      -- toward its channel's limits): held ones too, as they may still go; superseded ones
      -- (the channel before delivered, or the code was used) never will.
      SELECT count(*)::integer, min(w.at) INTO sends, oldest FROM (
        SELECT u.at FROM (
          (SELECT sent_at AS at FROM otp_sends
            WHERE target = p_target AND channel = 'voice' AND sent_at > v_since
            ORDER BY sent_at LIMIT p_limit)
          UNION ALL
          (SELECT created_at FROM outbox_messages
            WHERE channel = 'voice' AND after_id IS NOT NULL AND recipient = p_target
              AND status <> 'superseded' AND created_at > v_since
            ORDER BY created_at LIMIT p_limit)) u
         ORDER BY u.at LIMIT p_limit) w;
    WHEN 'owner' THEN
      SELECT count(*)::integer, min(w.sent_at) INTO sends, oldest FROM (
        SELECT sent_at FROM otp_sends
         WHERE client_id = p_client_id AND user_id = p_user_id AND sent_at > v_since
         ORDER BY sent_at LIMIT p_limit) w;
    WHEN 'block' THEN
      SELECT count(*)::integer, min(w.sent_at) INTO sends, oldest FROM (
        SELECT sent_at FROM otp_sends WHERE target_block = p_block AND sent_at > v_since
         ORDER BY sent_at LIMIT p_limit) w;
    WHEN 'client' THEN
      SELECT count(*)::integer, min(w.sent_at) INTO sends, oldest FROM (
        SELECT sent_at FROM otp_sends WHERE client_id = p_client_id AND sent_at > v_since
         ORDER BY sent_at LIMIT p_limit) w;
    WHEN 'service' THEN
      SELECT count(*)::integer, min(w.sent_at) INTO sends, oldest FROM (
        SELECT sent_at FROM otp_sends WHERE sent_at > v_since
         ORDER BY sent_at LIMIT p_limit) w;
  END CASE;
END $$;
