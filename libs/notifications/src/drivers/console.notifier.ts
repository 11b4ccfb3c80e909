import { DeliveryReceipt, Notifier, OutgoingMessage } from '../notifier';

/** Development driver: prints each message instead of sending it. Refused in production. */
export class ConsoleNotifier extends Notifier {
  readonly name = 'console';

  constructor(
    private readonly write: (line: string) => void = (line) => {
      process.stdout.write(`${line}\n`);
    },
  ) {
    super();
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    signal?.throwIfAborted();
    // JSON-quoting the body keeps a multi-line message on one line.
    this.write(
      `[notify:console] ${message.channel} to ${message.to}: ${message.subject ? `${JSON.stringify(message.subject)} ` : ''}${JSON.stringify(message.body)}`,
    );
    return {};
  }
}
