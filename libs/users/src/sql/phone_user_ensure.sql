-- The phone identity of a number, created if new (xmax = 0 tells): what an app sign-in (and any
-- use case that needs a person behind a verified phone) composes.
CREATE FUNCTION phone_user_ensure(p_phone varchar,
                                  OUT phone_user_id uuid, OUT phone_user_created boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
BEGIN
  INSERT INTO phone_users (phone_e164) VALUES (p_phone)
  ON CONFLICT ON CONSTRAINT uq_phone_users_phone DO UPDATE SET phone_e164 = EXCLUDED.phone_e164
  RETURNING id, (xmax = 0) INTO phone_user_id, phone_user_created;
END $$;
