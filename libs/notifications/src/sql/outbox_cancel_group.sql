-- The messages of a group that are no use any more (the code they carry was verified, or its
-- challenge locked): the pending and held ones are superseded and their payloads wiped, so no
-- fallback calls or texts a user with a dead code. A message being sent right now still ends as
-- it ends; its fallbacks do not go. Returns how many were cancelled.
CREATE FUNCTION outbox_cancel_group(p_group_key varchar)
RETURNS integer LANGUAGE sql AS $$
  WITH cancelled AS (
    UPDATE outbox_messages SET status = 'superseded', payload = NULL
     WHERE group_key = p_group_key AND status IN ('pending', 'held')
    RETURNING 1)
  SELECT count(*)::integer FROM cancelled
$$;
