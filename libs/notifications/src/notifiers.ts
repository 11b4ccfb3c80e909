import type { OnModuleDestroy } from '@nestjs/common';
import type { Channel } from '@app/common';
import { Notifier, PermanentDeliveryError } from './notifier';

/** The delivery driver of each enabled channel. */
export class Notifiers implements OnModuleDestroy {
  constructor(private readonly drivers: ReadonlyMap<Channel, Notifier>) {}

  /** The channels a code can be sent on, in the order they were configured. */
  get channels(): Channel[] {
    return [...this.drivers.keys()];
  }

  /** The channel's driver; a channel that is not enabled can never be delivered to. */
  for(channel: Channel): Notifier {
    const driver = this.drivers.get(channel);
    if (!driver) throw new PermanentDeliveryError(`channel ${channel} is not enabled`);
    return driver;
  }

  /** Drivers that hold resources (an open file) release them with the app. */
  async onModuleDestroy(): Promise<void> {
    for (const driver of new Set(this.drivers.values())) {
      await (driver as { onModuleDestroy?(): Promise<void> }).onModuleDestroy?.();
    }
  }
}
