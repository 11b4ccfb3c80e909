import { Injectable, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { BackgroundLoop } from '@app/common';
import { OutboxService } from './outbox.service';

const POLL_INTERVAL_MS = 1_000;
/** Sent, failed, expired and superseded messages are kept this long (payloads are gone already). */
const RETENTION_MS = 7 * 24 * 3_600_000;
const RETENTION_INTERVAL_MS = 60_000;

/**
 * The outbox's background work in every instance: retrying due messages (the claim query makes
 * that safe across instances; a full batch polls again at once) and deleting finished messages
 * past their retention, in bounded batches.
 */
@Injectable()
export class OutboxPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly delivery = new BackgroundLoop('OutboxPoller', POLL_INTERVAL_MS, async () => {
    await this.outbox.releaseUnconfirmed();
    return (await this.outbox.deliverDue()) > 0;
  });
  private readonly retention = new BackgroundLoop('OutboxRetention', RETENTION_INTERVAL_MS, () =>
    this.outbox.purgeFinished(RETENTION_MS),
  );

  constructor(private readonly outbox: OutboxService) {}

  onApplicationBootstrap(): void {
    this.delivery.start();
    this.retention.start();
  }

  async onModuleDestroy(): Promise<void> {
    await Promise.all([this.delivery.stop(), this.retention.stop()]);
  }
}
