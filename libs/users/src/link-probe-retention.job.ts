import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundJob, Clock } from '@app/common';
import { deleteBatch } from '@app/database';

/** The probe budgets look back one hour; keep a second for investigations. */
export const LINK_PROBE_RETENTION_MS = 2 * 3_600_000;
const INTERVAL_MS = 60_000;
const BATCH = 1_000;

/**
 * Keeps `link_probes` from growing without end: deletes, in bounded batches safe to run in every
 * instance at once (SKIP LOCKED), the probes past the budgets' window.
 */
@Injectable()
export class LinkProbeRetentionJob extends BackgroundJob {
  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {
    super('LinkProbeRetention', INTERVAL_MS);
  }

  runOnce(): Promise<boolean> {
    return this.purgeOnce();
  }

  /** One batch; true when it was full (more may be waiting). */
  async purgeOnce(): Promise<boolean> {
    const cutoff = new Date(this.clock.now().getTime() - LINK_PROBE_RETENTION_MS);
    const select = `SELECT id FROM link_probes WHERE probed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED`;
    return (await deleteBatch(this.dataSource, 'link_probes', select, cutoff, BATCH)) === BATCH;
  }
}
