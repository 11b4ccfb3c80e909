-- A bound, not a design: the fewest rows issue 20 allows a register (3 rows, 6 index entries),
-- on scratch tables beside the real ones, so `run.sh` can show what a register written that way
-- could reach at most. One statement, as a function call would be:
--   - the challenge row carries its delivery (status, lease, encrypted payload): no outbox row;
--     3 index entries (id; client, user and time, which finds the live challenge and counts the
--     user's sends; target and time, which counts the target's);
--   - the client's hourly count, one sharded counter row updated in place (no index entry);
--   - one audit row (3 index entries).
-- Left out, so a real register costs more: the service, region and number-block counts (the
-- pumping guard), one live challenge per user and phone (a lock or a unique index), link probes,
-- resends and fallbacks.
CREATE TABLE lean_challenges (
  id uuid PRIMARY KEY,
  client_id varchar(128) NOT NULL,
  user_id varchar(256) NOT NULL,
  target varchar(320) NOT NULL,
  code_hash bytea NOT NULL,
  attempts int NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL,
  delivery_status varchar(16) NOT NULL DEFAULT 'pending',
  lease_until timestamptz,
  payload bytea
) WITH (fillfactor = 80);
CREATE INDEX ON lean_challenges (client_id, user_id, created_at);
CREATE INDEX ON lean_challenges (target, created_at);

CREATE TABLE lean_counts (
  scope varchar(200) NOT NULL,
  bucket timestamptz NOT NULL,
  shard int NOT NULL,
  n int NOT NULL,
  PRIMARY KEY (scope, bucket, shard)
) WITH (fillfactor = 50);

CREATE TABLE lean_audit (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL,
  event varchar(40) NOT NULL,
  client_id varchar(128),
  user_id varchar(256),
  target_hash bytea,
  data jsonb
);
CREATE INDEX ON lean_audit (client_id, user_id, created_at);
CREATE INDEX ON lean_audit (target_hash, created_at);

CREATE FUNCTION lean_register(p_user bigint, p_phone bigint) RETURNS uuid
LANGUAGE plpgsql AS $fn$
DECLARE
  v_target text := '+91' || (9000000000 + p_phone)::text;
  v_id uuid;
BEGIN
  WITH counts AS (
    SELECT (SELECT count(*) FROM lean_challenges
             WHERE target = v_target AND created_at > now() - interval '1 hour') AS per_target,
           (SELECT count(*) FROM lean_challenges
             WHERE client_id = 'bench-client' AND user_id = 'u' || p_user
               AND created_at > now() - interval '1 hour') AS per_user,
           (SELECT coalesce(sum(n), 0) FROM lean_counts
             WHERE scope = 'client:bench-client'
               AND bucket = date_bin('1 hour', now(), 'epoch')) AS per_client),
  ins AS (
    INSERT INTO lean_challenges
           (id, client_id, user_id, target, code_hash, created_at, expires_at, lease_until, payload)
    SELECT gen_random_uuid(), 'bench-client', 'u' || p_user, v_target, '\x00'::bytea, now(),
           now() + interval '5 minutes', now() + interval '30 seconds',
           '\x0011223344556677889900'::bytea
      FROM counts
     WHERE per_target < 1000000000 AND per_user < 1000000000 AND per_client < 1000000000
    RETURNING id),
  counted AS (
    INSERT INTO lean_counts (scope, bucket, shard, n)
    SELECT 'client:bench-client', date_bin('1 hour', now(), 'epoch'), pg_backend_pid() % 8, 1
      FROM ins
    ON CONFLICT (scope, bucket, shard) DO UPDATE SET n = lean_counts.n + 1),
  audited AS (
    INSERT INTO lean_audit (created_at, event, client_id, user_id, target_hash, data)
    SELECT now(), 'otp.requested', 'bench-client', 'u' || p_user, '\x00'::bytea,
           jsonb_build_object('challenge_id', id, 'ip', '127.0.0.1')
      FROM ins)
  SELECT ins.id INTO v_id FROM ins;
  RETURN v_id;
END
$fn$;
