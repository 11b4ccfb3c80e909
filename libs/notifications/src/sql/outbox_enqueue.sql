-- Queues a message in the caller's transaction, its payload already encrypted (p_message:
-- OutboxService.prepare builds it). The caller tries it at once after commit (attempt 1), so it
-- is written as taken until lease_until: no poller touches it before, and a process that dies
-- meanwhile leaves it to the poller after. A message of a group supersedes the group's older
-- pending and held ones (a resent code makes the earlier code worthless: it must not arrive
-- later).
--
-- p_message's `fallbacks` (CHANNELS.md, NOTIFY_FALLBACK) are the same code on the next channels,
-- in order: each is written `held`, naming the message it falls back from (after_id), with the
-- same expiry (a fallback never extends a code's lifetime). Finishing a message releases its
-- fallback when it failed for good and supersedes it otherwise (OutboxService's FINISH).
-- Returns the message's id.
CREATE FUNCTION outbox_enqueue(p_message jsonb, p_group_key varchar)
RETURNS uuid LANGUAGE plpgsql AS $$
DECLARE
  m record;
  f record;
  v_id uuid;
  v_after uuid;
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
     WHERE group_key = p_group_key AND status IN ('pending', 'held');
  END IF;
  INSERT INTO outbox_messages
    (channel, recipient, payload, status, attempts, next_attempt_at, expires_at, audit,
     created_at, group_key)
  VALUES (m.channel, m.recipient, m.payload, 'pending', 1, m.lease_until, m.expires_at, m.audit,
          m.created_at, p_group_key)
  RETURNING id INTO v_id;
  v_after := v_id;
  FOR f IN
    SELECT e.value ->> 'channel' AS channel, e.value ->> 'recipient' AS recipient,
           (e.value ->> 'payload')::bytea AS payload
      FROM jsonb_array_elements(coalesce(p_message -> 'fallbacks', '[]'::jsonb))
           WITH ORDINALITY AS e(value, n)
     ORDER BY e.n
  LOOP
    INSERT INTO outbox_messages
      (channel, recipient, payload, status, attempts, next_attempt_at, expires_at, audit,
       created_at, group_key, after_id)
    VALUES (f.channel, f.recipient, f.payload, 'held', 0, m.expires_at, m.expires_at, m.audit,
            m.created_at, p_group_key, v_after)
    RETURNING id INTO v_after;
  END LOOP;
  RETURN v_id;
END $$;
