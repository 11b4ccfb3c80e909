import type { TelegramConfig } from '@app/config';
import { DeliveryReceipt, Notifier, OutgoingMessage, PermanentDeliveryError } from '../notifier';

/** The Bot API's answer: `ok`, then `result` or `error_code` and `description`. */
interface BotApiAnswer {
  ok?: boolean;
  result?: { message_id?: number };
  error_code?: number;
  description?: string;
}

/**
 * Sends the telegram channel with the Bot API's sendMessage (TELEGRAM_API_URL, default
 * https://api.telegram.org) as the bot of TELEGRAM_BOT_TOKEN. 400 (chat not found) and 403 (the
 * user blocked the bot) are permanent; 429 and 5xx are retried by the outbox.
 */
export class TelegramNotifier extends Notifier {
  readonly name = 'telegram';
  private readonly endpoint: string;

  constructor(config: TelegramConfig) {
    super();
    if (!config.botToken) throw new Error('TelegramNotifier needs botToken');
    this.endpoint = `${config.apiUrl.replace(/\/+$/, '')}/bot${config.botToken}/sendMessage`;
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    signal?.throwIfAborted();
    if (message.channel !== 'telegram') {
      throw new PermanentDeliveryError(
        `The telegram driver cannot send on channel ${message.channel}`,
      );
    }
    let response: Response;
    try {
      response = await fetch(this.endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          chat_id: Number(message.to),
          text: message.body,
          protect_content: true,
        }),
        signal,
      });
    } catch (error) {
      // Never the error's message: fetch's may quote the URL, and the URL holds the token.
      const name = (error as { name?: string } | null)?.name;
      if (name === 'TimeoutError' || name === 'AbortError') {
        throw new Error('Telegram request timed out');
      }
      const code = (error as { cause?: { code?: unknown } } | null)?.cause?.code;
      throw new Error(`Telegram request failed: ${typeof code === 'string' ? code : 'network'}`);
    }
    const answer = (await response.json().catch(() => ({}))) as BotApiAnswer;
    if (response.ok && answer.ok === true) {
      const id = answer.result?.message_id;
      return typeof id === 'number' ? { providerMessageId: String(id) } : {};
    }
    const status = response.status;
    if (status === 400 || status === 403) {
      throw new PermanentDeliveryError(
        `Telegram refused the message: HTTP ${status}`,
        String(answer.error_code ?? status),
      );
    }
    throw new Error(`Telegram request failed: HTTP ${status}`);
  }
}
