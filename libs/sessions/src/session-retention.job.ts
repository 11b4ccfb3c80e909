import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundJob, Clock } from '@app/common';
import { deleteBatch } from '@app/database';

const DAY_MS = 86_400_000;
/** Ended and expired sessions stay a week for operators' investigations, then go. */
export const SESSION_RETENTION_MS = 7 * DAY_MS;
/**
 * Refresh tokens stay a day past their expiry: until then a used one presented again is
 * recognised as reuse (after it, it is unknown, refused all the same).
 */
export const REFRESH_TOKEN_RETENTION_MS = DAY_MS;
const INTERVAL_MS = 60_000;
const BATCH = 1_000;

/**
 * Keeps the session tables from growing without end, in bounded batches safe to run in every
 * instance at once (SKIP LOCKED): sessions a week after they ended or expired (their refresh
 * tokens with them), and refresh tokens a day past their expiry.
 */
@Injectable()
export class SessionRetentionJob extends BackgroundJob {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    super('SessionRetention', INTERVAL_MS);
  }

  runOnce(): Promise<boolean> {
    return this.purgeOnce();
  }

  /** One batch from each table; true when either had a full batch (more may be waiting). */
  async purgeOnce(): Promise<boolean> {
    const now = this.clock.now().getTime();
    const sessions = await deleteBatch(
      this.dataSource,
      'app_sessions',
      `SELECT id FROM app_sessions WHERE ended_at < $1 OR expires_at < $1
        LIMIT $2 FOR UPDATE SKIP LOCKED`,
      new Date(now - SESSION_RETENTION_MS),
      BATCH,
    );
    if (this.stopping) return false;
    const tokens = await deleteBatch(
      this.dataSource,
      'session_refresh_tokens',
      `SELECT id FROM session_refresh_tokens WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
      new Date(now - REFRESH_TOKEN_RETENTION_MS),
      BATCH,
    );
    return sessions === BATCH || tokens === BATCH;
  }
}
