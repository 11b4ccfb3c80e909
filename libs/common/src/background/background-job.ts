import { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { BackgroundLoop } from './background-loop';

/** A provider that runs one BackgroundLoop from application start until shutdown. */
export abstract class BackgroundJob implements OnApplicationBootstrap, OnModuleDestroy {
  private readonly loop: BackgroundLoop;
  private shuttingDown = false;

  protected constructor(name: string, intervalMs: number) {
    this.loop = new BackgroundLoop(name, intervalMs, () => this.runOnce());
  }

  /** One bounded piece of work, safe in every instance at once; true when more may be waiting. */
  abstract runOnce(): Promise<boolean>;

  onApplicationBootstrap(): void {
    this.loop.start();
  }

  async onModuleDestroy(): Promise<void> {
    this.shuttingDown = true;
    await this.loop.stop();
  }

  /** True once shutdown began: a pass of several statements stops after the running one. */
  protected get stopping(): boolean {
    return this.shuttingDown;
  }
}
