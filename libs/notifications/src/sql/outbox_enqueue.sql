-- Queues a message in the caller's transaction, its payload already encrypted (p_message:
-- OutboxService.prepare builds it). The caller tries it at once after commit (attempt 1), so it
-- is written as taken until lease_until: no poller touches it before, and a process that dies
-- meanwhile leaves it to the poller after. A message of a group supersedes the group's older
-- pending ones (a resent code makes the earlier code worthless: it must not arrive later).
-- Returns the message's id.
CREATE FUNCTION outbox_enqueue(p_message jsonb, p_group_key varchar)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  m record;
  v_id uuid;
BEGIN
  SELECT * INTO m FROM jsonb_to_record(p_message) AS x(
    channel varchar,
    recipient varchar,
    payload bytea,
    lease_until timestamptz,
    expires_at timestamptz,
    created_at timestamptz,
    audit jsonb);
  IF p_group_key IS NOT NULL THEN
    UPDATE outbox_messages SET status = 'superseded', payload = NULL
     WHERE group_key = p_group_key AND status = 'pending';
  END IF;
  INSERT INTO outbox_messages
    (channel, recipient, payload, status, attempts, next_attempt_at, expires_at, audit,
     created_at, group_key)
  VALUES (m.channel, m.recipient, m.payload, 'pending', 1, m.lease_until, m.expires_at, m.audit,
          m.created_at, p_group_key)
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;
