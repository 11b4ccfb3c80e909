import { Logger } from '@nestjs/common';
import { describeError } from '../logging/logger';

/**
 * Runs `tick` in the background every `intervalMs`, or again at once when it reports more
 * work. Ticks never overlap; `stop` waits for the running one. A failing tick (the database may
 * be down) is logged and retried on the next interval. Every instance runs its own loops, so a
 * tick must be safe to run concurrently with other instances (claims, SKIP LOCKED, bounded work).
 */
export class BackgroundLoop {
  private readonly logger: Logger;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = true;

  constructor(
    name: string,
    private readonly intervalMs: number,
    private readonly tick: () => Promise<boolean>,
  ) {
    this.logger = new Logger(name);
  }

  start(): void {
    this.stopped = false;
    this.schedule(this.intervalMs);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => (this.running = undefined));
    }, delay);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    let more = false;
    try {
      more = await this.tick();
    } catch (error) {
      this.logger.warn({ err: describeError(error) }, 'background task failed; will retry');
    }
    this.schedule(more ? 0 : this.intervalMs);
  }
}
