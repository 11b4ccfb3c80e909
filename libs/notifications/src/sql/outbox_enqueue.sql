-- Queues a message in the caller's transaction, with its payload already encrypted. The caller
-- tries it at once after commit (attempt 1), so it is written as taken until p_lease_until: no
-- poller touches it before, and a process that dies meanwhile leaves it to the poller after.
-- A message of a group supersedes the group's older pending ones (a resent code makes the
-- earlier code worthless: it must not arrive later). Returns the message's id.
CREATE FUNCTION outbox_enqueue(p_channel varchar, p_recipient varchar, p_payload bytea,
                               p_lease_until timestamptz, p_expires_at timestamptz,
                               p_created_at timestamptz, p_group_key varchar, p_audit jsonb)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  v_id uuid;
BEGIN
  IF p_group_key IS NOT NULL THEN
    UPDATE outbox_messages SET status = 'superseded', payload = NULL
     WHERE group_key = p_group_key AND status = 'pending';
  END IF;
  INSERT INTO outbox_messages
    (channel, recipient, payload, status, attempts, next_attempt_at, expires_at, audit,
     created_at, group_key)
  VALUES (p_channel, p_recipient, p_payload, 'pending', 1, p_lease_until, p_expires_at, p_audit,
          p_created_at, p_group_key)
  RETURNING id INTO v_id;
  RETURN v_id;
END $$;
