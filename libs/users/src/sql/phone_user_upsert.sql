-- The phone identity of a verified number, created if new (xmax = 0 tells): a sign-in that is
-- no partner user's link (a website's sign-in flow) has the same identity as the links.
CREATE FUNCTION phone_user_upsert(p_phone varchar,
                                  OUT phone_user_id uuid, OUT phone_user_created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO phone_users (phone_e164) VALUES (p_phone)
  ON CONFLICT ON CONSTRAINT uq_phone_users_phone DO UPDATE SET phone_e164 = EXCLUDED.phone_e164
  RETURNING id, (xmax = 0) INTO phone_user_id, phone_user_created;
END $$;
