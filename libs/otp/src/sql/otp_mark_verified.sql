-- The right code: the challenge becomes verified, only while it is live and its code is still
-- the one the caller matched (a resent code makes the previous one worthless). The row lock
-- serialises double submits: the second finds it verified. The verification counts for the
-- pumping guard of the target's region and number block (when it has them), and the code's
-- messages not yet sent are cancelled (outbox_cancel_group: no fallback carries a used code).
-- Whether it was marked.
CREATE FUNCTION otp_mark_verified(p_args jsonb)
RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  a record;
BEGIN
  SELECT * INTO a FROM jsonb_to_record(p_args) AS x(
    challenge_id uuid,
    code_hash bytea,
    now timestamptz,
    max_attempts integer,
    region varchar,
    block varchar);
  UPDATE otp_challenges SET status = 'verified', verified_at = a.now
   WHERE id = a.challenge_id AND code_hash = a.code_hash
     AND otp_challenge_state(status, attempts, expires_at, a.now, a.max_attempts) = 'live';
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  -- Its fallbacks (a call, a WhatsApp message) would now carry a used code.
  PERFORM outbox_cancel_group(p_group_key => 'otp:' || a.challenge_id);
  INSERT INTO otp_send_counts (scope, bucket, shard, sends, verified)
  SELECT v.scope, otp_send_bucket(a.now), otp_send_shard(), 0, 1
    FROM (VALUES ('region:' || a.region), ('block:' || a.block)) v(scope)
   WHERE v.scope IS NOT NULL
  ON CONFLICT ON CONSTRAINT pk_otp_send_counts
    DO UPDATE SET verified = otp_send_counts.verified + 1;
  RETURN true;
END $$;
