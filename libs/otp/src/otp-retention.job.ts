import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundJob, Clock } from '@app/common';
import { deleteBatch } from '@app/database';

const HOUR_MS = 3_600_000;
/** The hourly limits look back one hour; keep a second for investigations. */
export const SEND_RETENTION_MS = 2 * HOUR_MS;
/** Challenges that never verified are kept a day after expiry. */
export const CHALLENGE_RETENTION_MS = 24 * HOUR_MS;
/** OTP API rows: the client's limits look back at most a day (1440 minutes). */
export const API_RETENTION_MS = 24 * HOUR_MS;
const INTERVAL_MS = 60_000;
const BATCH = 1_000;

/**
 * Keeps the OTP tables from growing without end: deletes, in bounded batches safe to run in
 * every instance at once (SKIP LOCKED), send and failure records and send counters past the
 * limits' window, and challenges a day past expiry; and folds closed counter buckets. Verified
 * challenges stay (one per link ever made): they answer a repeated verify for as long as the link
 * exists.
 */
@Injectable()
export class OtpRetentionJob extends BackgroundJob {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    super('OtpRetention', INTERVAL_MS);
  }

  runOnce(): Promise<boolean> {
    return this.purgeOnce();
  }

  /** One batch from each table; true when any table had a full batch (more may be waiting). */
  async purgeOnce(): Promise<boolean> {
    const now = this.clock.now().getTime();
    const sendsBefore = new Date(now - SEND_RETENTION_MS);
    const results = await Promise.all([
      deleteBatch(
        this.dataSource,
        'otp_sends',
        `SELECT id FROM otp_sends WHERE sent_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
        sendsBefore,
        BATCH,
      ),
      deleteBatch(
        this.dataSource,
        'otp_verify_failures',
        `SELECT id FROM otp_verify_failures WHERE failed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
        sendsBefore,
        BATCH,
      ),
      deleteBatch(
        this.dataSource,
        'otp_challenges',
        `SELECT id FROM otp_challenges WHERE expires_at < $1 AND status <> 'verified'
          LIMIT $2 FOR UPDATE SKIP LOCKED`,
        new Date(now - CHALLENGE_RETENTION_MS),
        BATCH,
      ),
      // OTP API passwords and /target guesses: past their lifetime and the longest limit window
      // (a day) they count for nothing.
      deleteBatch(
        this.dataSource,
        'otp_api_codes',
        `SELECT id FROM otp_api_codes WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
        new Date(now - API_RETENTION_MS),
        BATCH,
      ),
      deleteBatch(
        this.dataSource,
        'otp_api_guesses',
        `SELECT id FROM otp_api_guesses WHERE guessed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
        new Date(now - API_RETENTION_MS),
        BATCH,
      ),
      // Counters have a composite key: rows are picked by their physical address.
      deleteBatch(
        this.dataSource,
        'otp_send_counts',
        `SELECT ctid FROM otp_send_counts WHERE bucket < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
        sendsBefore,
        BATCH,
        'ctid',
      ),
      this.compactCounters(sendsBefore, new Date(now)),
    ]);
    return results.some((deleted) => deleted === BATCH);
  }

  /**
   * Folds a closed bucket's 8 counter rows into its row 0 (one batch): a register reads every row
   * of the last hour's buckets for its budgets and pumping guard, and 12 closed buckets of one
   * row each read faster than of 8. Sums are unchanged, whenever it runs: a late write to a
   * closed bucket adds a row that the next run folds. Returns how many rows it folded.
   */
  private async compactCounters(after: Date, now: Date): Promise<number> {
    const [{ folded }] = await this.dataSource.query<Array<{ folded: number }>>(
      `WITH moved AS (
         DELETE FROM otp_send_counts
          WHERE ctid IN (SELECT ctid FROM otp_send_counts
                          WHERE bucket >= $1 AND bucket < otp_send_bucket($2) AND shard <> 0
                          LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING scope, bucket, sends, verified),
       merged AS (
         INSERT INTO otp_send_counts (scope, bucket, shard, sends, verified)
         SELECT scope, bucket, 0, sum(sends), sum(verified) FROM moved GROUP BY scope, bucket
         ON CONFLICT ON CONSTRAINT pk_otp_send_counts DO UPDATE
           SET sends = otp_send_counts.sends + EXCLUDED.sends,
               verified = otp_send_counts.verified + EXCLUDED.verified)
       SELECT count(*)::int AS folded FROM moved`,
      [after, now, BATCH],
    );
    return folded;
  }
}
