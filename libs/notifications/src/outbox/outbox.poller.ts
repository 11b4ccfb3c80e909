import { Injectable, Logger, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { describeError } from '@app/common';
import { OutboxService } from './outbox.service';

const POLL_INTERVAL_MS = 1_000;

/**
 * Retries queued messages in the background. Every instance runs one; the claim query makes
 * that safe. A poll that finds a full batch polls again at once.
 */
@Injectable()
export class OutboxPoller implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly logger = new Logger(OutboxPoller.name);
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  constructor(private readonly outbox: OutboxService) {}

  onApplicationBootstrap(): void {
    this.schedule();
  }

  async onModuleDestroy(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay = POLL_INTERVAL_MS): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.poll().finally(() => (this.running = undefined));
    }, delay);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    let tried = 0;
    try {
      tried = await this.outbox.deliverDue();
    } catch (error) {
      // The database may be down; the messages wait safely in it for the next poll.
      this.logger.warn({ err: describeError(error) }, 'outbox poll failed');
    }
    this.schedule(tried > 0 ? 0 : POLL_INTERVAL_MS);
  }
}
