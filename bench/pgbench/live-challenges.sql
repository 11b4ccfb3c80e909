-- Live challenges for verify.sql and wrong.sql, made in one statement (a register each would take
-- minutes): :count of them (psql -v count=N), numbered n from 1, each for its own partner user
-- and phone, their codes hashing to \x00 as register.sql's.
CREATE TABLE bench_live AS
  SELECT n, gen_random_uuid() AS id, 'bench-client'::varchar AS client_id,
         ('v' || n)::varchar AS user_id, ('+91' || (8000000000 + n))::varchar AS target,
         lpad(n::text, 8, '0')::varchar AS auth_code,
         ('+91' || (8000000000 + n) / 100000)::varchar AS block
    FROM generate_series(1, :count) n;
CREATE UNIQUE INDEX ON bench_live (n);
INSERT INTO otp_challenges (id, client_id, user_id, target, auth_code, code_hash, last_sent_at,
                            expires_at, created_at)
  SELECT id, client_id, user_id, target, auth_code, '\x00', now(), now() + interval '1 day', now()
    FROM bench_live;
