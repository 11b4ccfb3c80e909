-- What a wrong code asks of PostgreSQL, without the API: the verify's read
-- (phone_link_verify_state) and the wrong code counted (otp_wrong_code: the attempt, the failure
-- row, the event), as two transactions like the API's, on a random one of the live challenges
-- run.sh made for it (bench_live, -D first to -D last). Attempts and failures allowed are out of
-- reach, as `npm run bench` spreads its wrong codes so that none locks.
\set n random(:first, :last)
SELECT s.state FROM bench_live b, LATERAL phone_link_verify_state(p_client_id => b.client_id, p_user_id => b.user_id, p_target => b.target, p_auth_code => b.auth_code, p_now => now(), p_max_attempts => 1000000, p_max_failures => 1000000000, p_probes => jsonb_build_object('client_id', b.client_id, 'user_id', b.user_id, 'now', now(), 'max_per_user', 1000000, 'max_per_client', 1000000000)) s WHERE b.n = :n;
SELECT w.outcome FROM bench_live b, LATERAL otp_wrong_code(p_count => jsonb_build_object('challenge_id', b.id, 'code_hash', '\x00'::bytea, 'target', b.target, 'now', now(), 'max_attempts', 1000000, 'max_failures', 1000000000), p_challenge_id => b.id, p_client_id => b.client_id, p_user_id => b.user_id, p_target_masked => '+91******000', p_target_hash => '\x00'::bytea, p_ip => '127.0.0.1') w WHERE b.n = :n;
