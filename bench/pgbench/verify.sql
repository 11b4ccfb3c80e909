-- What a right code asks of PostgreSQL, without the API: the verify's read
-- (phone_link_verify_state) and its write (phone_link_verified: the challenge verified, the phone
-- identity, partner user and link made, two events), as two transactions like the API's. Each
-- client takes the next of its own share of the live challenges run.sh made (bench_live: from
-- -D base, -D share each, with -D i=0), so no challenge is verified twice. Every limit out of
-- reach.
\set i :i + 1
\set n :base + :client_id * :share + :i
SELECT s.state FROM bench_live b, LATERAL phone_link_verify_state(p_client_id => b.client_id, p_user_id => b.user_id, p_target => b.target, p_auth_code => b.auth_code, p_now => now(), p_max_attempts => 5, p_max_failures => 1000000000, p_probes => jsonb_build_object('client_id', b.client_id, 'user_id', b.user_id, 'now', now(), 'max_per_user', 1000000, 'max_per_client', 1000000000)) s WHERE b.n = :n;
SELECT v.outcome FROM bench_live b, LATERAL phone_link_verified(p_mark => jsonb_build_object('challenge_id', b.id, 'code_hash', '\x00'::bytea, 'now', now(), 'max_attempts', 5, 'region', 'IN', 'block', b.block), p_challenge_id => b.id, p_client_id => b.client_id, p_user_id => b.user_id, p_phone => b.target, p_wallet_address => NULL, p_client_name => 'bench', p_target_masked => '+91******000', p_target_hash => '\x00'::bytea, p_ip => '127.0.0.1') v WHERE b.n = :n;
