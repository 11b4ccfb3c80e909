-- Links a partner user to the phone identity (created if new: xmax = 0 tells), keeping the
-- user's wallet address and client name, and which challenge made the link and whether it
-- created the identity (a repeated verify answers that); answers the link's time too. The named
-- unique constraints decide races and raise: uq_links_third_party_user (the user is linked
-- already) and uq_links_client_phone (the phone is linked to another user of the client).
CREATE FUNCTION link_phone(p_client_id varchar, p_user_id varchar, p_phone varchar,
                           p_wallet_address varchar, p_client_name varchar,
                           p_challenge_id uuid,
                           OUT phone_user_id uuid, OUT phone_user_created boolean,
                           OUT linked_at timestamptz)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_partner uuid;
BEGIN
  INSERT INTO phone_users (phone_e164) VALUES (p_phone)
  ON CONFLICT ON CONSTRAINT uq_phone_users_phone DO UPDATE SET phone_e164 = EXCLUDED.phone_e164
  RETURNING id, (xmax = 0) INTO phone_user_id, phone_user_created;
  INSERT INTO third_party_users (client_id, user_id, wallet_address, client_name)
  VALUES (p_client_id, p_user_id, p_wallet_address, p_client_name)
  ON CONFLICT ON CONSTRAINT uq_third_party_users_client_user DO UPDATE
    SET wallet_address = COALESCE(EXCLUDED.wallet_address, third_party_users.wallet_address),
        client_name = COALESCE(EXCLUDED.client_name, third_party_users.client_name),
        updated_at = now()
  RETURNING id INTO v_partner;
  INSERT INTO links (third_party_user_id, phone_user_id, client_id, challenge_id,
                     phone_user_created)
  VALUES (v_partner, phone_user_id, p_client_id, p_challenge_id, phone_user_created)
  RETURNING created_at INTO linked_at;
END $$;
