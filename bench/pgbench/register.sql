-- What a register asks of PostgreSQL, without the API: one otp_request_code call for a new user
-- and a new phone (spread over 9 000 number blocks), every limit out of reach, as `npm run bench`
-- sets them.
\set u random(1, 1000000000)
\set p random(100000000, 999999999)
SELECT * FROM otp_request_code('bench-client', 'u' || :u, '+91' || (9000000000 + :p)::text, '+91' || ((9000000000 + :p) / 100000)::text, now(), now() + interval '5 minutes', 0, 1000000000, 1000000000, 1000000000, 1000000000, NULL, 1000, gen_random_uuid(), NULL, (10000000 + :u % 89999999)::text, '\x00'::bytea, 'sms', '\x00'::bytea, now() + interval '30 seconds', '{}'::jsonb, '******', '\x00'::bytea, '127.0.0.1');
