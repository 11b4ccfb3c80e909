-- What a register asks of PostgreSQL, without the API: one phone_link_request_code call for a new
-- user and a new phone (spread over 9 000 number blocks), every limit out of reach, as
-- `npm run bench` sets them.
\set u random(1, 1000000000)
\set p random(100000000, 999999999)
SELECT * FROM phone_link_request_code(p_client_id => 'bench-client', p_user_id => 'u' || :u, p_target => '+91' || (9000000000 + :p)::text, p_target_kind => 'phone', p_block => '+91' || ((9000000000 + :p) / 100000)::text, p_channel => 'sms', p_now => now(), p_expires_at => now() + interval '5 minutes', p_challenge_id => gen_random_uuid(), p_live_id => NULL, p_auth_code => (10000000 + :u % 89999999)::text, p_code_hash => '\x00'::bytea, p_cooldown_seconds => 0, p_max_attempts => 5, p_max_per_target => 1000000000, p_max_per_owner => 1000000000, p_max_per_block => 1000000000, p_max_per_service => 1000000000, p_client_budget => NULL, p_budget_margin => 1000, p_payload => '\x00'::bytea, p_lease_until => now() + interval '30 seconds', p_message_audit => '{}'::jsonb, p_target_masked => '******', p_target_hash => '\x00'::bytea, p_ip => '127.0.0.1');
