import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { BackgroundLoop, Clock } from '@app/common';

/** The probe budgets look back one hour; keep a second for investigations. */
export const LINK_PROBE_RETENTION_MS = 2 * 3_600_000;
const INTERVAL_MS = 60_000;
const BATCH = 1_000;

/**
 * Keeps `link_probes` from growing without end: deletes, in bounded batches safe to run in every
 * instance at once (SKIP LOCKED), the probes past the budgets' window.
 */
@Injectable()
export class LinkProbeRetentionJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly loop = new BackgroundLoop('LinkProbeRetention', INTERVAL_MS, () =>
    this.purgeOnce(),
  );

  constructor(
    private readonly dataSource: DataSource,
    private readonly clock: Clock,
  ) {}

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    await this.loop.stop();
  }

  /** One batch; true when it was full (more may be waiting). */
  async purgeOnce(): Promise<boolean> {
    const cutoff = new Date(this.clock.now().getTime() - LINK_PROBE_RETENTION_MS);
    const [, deleted] = await this.dataSource.query<[unknown[], number]>(
      `DELETE FROM link_probes WHERE id IN (
         SELECT id FROM link_probes WHERE probed_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`,
      [cutoff, BATCH],
    );
    return deleted === BATCH;
  }
}
