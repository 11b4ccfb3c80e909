import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Channel, DeliveryReceipt, Notifier, OutgoingMessage } from '../notifier';

/** One line of NOTIFY_FILE (API.md §6); the key order is part of the format. */
export interface NotifyFileLine {
  channel: Channel;
  to: string;
  body: string;
  code: string | null;
  authCode: string | null;
  at: string;
}

/**
 * Development driver: appends each message as a JSON line, so e2e tests and local tools can read
 * the codes back. Refused in production.
 */
export class FileNotifier extends Notifier {
  readonly name = 'file';

  constructor(
    private readonly path: string,
    private readonly clock: () => Date = () => new Date(),
  ) {
    super();
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    signal?.throwIfAborted();
    const line: NotifyFileLine = {
      channel: message.channel,
      to: message.to,
      body: message.body,
      code: message.code ?? null,
      authCode: message.authCode ?? null,
      at: this.clock().toISOString(),
    };
    // A single append of the whole line, so concurrent sends never interleave within a line.
    const text = `${JSON.stringify(line)}\n`;
    try {
      await appendFile(this.path, text, 'utf8');
    } catch (error) {
      // The directory is made when missing, not checked on every send (a test may delete it
      // between runs; a mkdir per message was a tenth of the API's CPU under load).
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      await mkdir(dirname(this.path), { recursive: true });
      await appendFile(this.path, text, 'utf8');
    }
    return {};
  }
}
