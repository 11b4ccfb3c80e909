-- What the linking rules (spec §4) say about a partner user and a phone right now: whether the
-- user is linked (with the link's challenge, answer and time: a repeated verify of that challenge
-- is answered again), whether the phone is linked to another user of the same client, and whether
-- a phone identity exists for it. Every lookup goes by a unique index from the values given:
-- a generic plan must not scan a client's links.
CREATE FUNCTION link_state(p_client_id varchar, p_user_id varchar, p_phone varchar)
RETURNS TABLE (account_linked boolean, link_challenge_id uuid, link_phone_user_id uuid,
               link_phone_user_created boolean, link_linked_at timestamptz, phone_linked boolean,
               phone_known boolean)
LANGUAGE sql STABLE AS $$
  SELECT own.id IS NOT NULL,
         own.challenge_id,
         own.phone_user_id,
         own.phone_user_created,
         own.created_at,
         EXISTS (SELECT 1 FROM links l
                  WHERE l.client_id = p_client_id AND l.phone_user_id = phone.id
                    AND l.third_party_user_id IS DISTINCT FROM own.third_party_user_id),
         phone.id IS NOT NULL
    FROM (SELECT 1) one
    LEFT JOIN (SELECT id FROM phone_users WHERE phone_e164 = p_phone) phone ON true
    LEFT JOIN (SELECT l.id, l.challenge_id, l.phone_user_id, l.phone_user_created, l.created_at,
                      l.third_party_user_id
                 FROM third_party_users t JOIN links l ON l.third_party_user_id = t.id
                WHERE t.client_id = p_client_id AND t.user_id = p_user_id) own ON true
$$;
