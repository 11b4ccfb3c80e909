import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundJob, Clock } from '@app/common';
import { deleteBatch } from '@app/database';

const INTERVAL_MS = 60_000;
const BATCH = 1_000;

/**
 * Deletes flows past their expiry (nobody can continue them: a lookup skips them already), in
 * bounded batches safe to run in every instance at once (SKIP LOCKED).
 */
@Injectable()
export class FlowRetentionJob extends BackgroundJob {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    super('FlowRetention', INTERVAL_MS);
  }

  runOnce(): Promise<boolean> {
    return this.purgeOnce();
  }

  /** One batch; true when it was full (more may be waiting). */
  async purgeOnce(): Promise<boolean> {
    const deleted = await deleteBatch(
      this.dataSource,
      'auth_flows',
      `SELECT id_hash FROM auth_flows WHERE expires_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`,
      this.clock.now(),
      BATCH,
      'id_hash',
    );
    return deleted === BATCH;
  }
}
