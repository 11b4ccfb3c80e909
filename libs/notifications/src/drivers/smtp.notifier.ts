import { createTransport, type SMTPSentMessageInfo, type Transporter } from 'nodemailer';
import type { EmailConfig } from '@app/config';
import { DeliveryReceipt, Notifier, OutgoingMessage, PermanentDeliveryError } from '../notifier';

/** HTML text: the characters HTML gives meaning to, escaped. */
function html(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&#39;', '"': '&quot;' })[char]!,
  );
}

/** The HTML part of a code's email: its text, the first line (the code) large. */
export function emailHtml(text: string, locale = 'en'): string {
  const [first, ...rest] = text.split('\n');
  const paragraphs = rest
    .join('\n')
    .split(/\n{2,}/)
    .map((part) => part.trim())
    .filter(Boolean)
    .map((part) => `<p>${html(part).replace(/\n/g, '<br>')}</p>`)
    .join('');
  return (
    `<!doctype html><html lang="${html(locale)}"><body>` +
    `<p style="font-size:28px;font-weight:bold;letter-spacing:4px">${html(first)}</p>` +
    `${paragraphs}</body></html>`
  );
}

/**
 * SMTP reply codes (RFC 5321) that no retry can help: the mailbox does not exist or refuses
 * (550, 551, 553), or the message itself is refused (554, 552 too large). 4xx are transient.
 */
const PERMANENT_SMTP = new Set([550, 551, 552, 553, 554, 555]);

/**
 * Sends the email channel through SMTP (SMTP_URL) with nodemailer: STARTTLS when the server
 * offers it (smtp://), TLS from the start with smtps://. A subject, a text and an HTML part,
 * the code first in each.
 */
export class SmtpNotifier extends Notifier {
  readonly name = 'smtp';
  private readonly transport: Transporter<SMTPSentMessageInfo>;
  private readonly from: string;

  constructor(config: EmailConfig, timeoutMs: number) {
    super();
    if (!config.smtpUrl || !config.from) throw new Error('SmtpNotifier needs smtpUrl and from');
    this.from = config.from;
    // Options after the URL win over its query (?tls.rejectUnauthorized=false for a test
    // server stays possible, the timeouts do not).
    this.transport = createTransport(config.smtpUrl);
    const options = this.transport.options as Record<string, unknown>;
    options.connectionTimeout = timeoutMs;
    options.greetingTimeout = timeoutMs;
    options.socketTimeout = timeoutMs;
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    signal?.throwIfAborted();
    if (message.channel !== 'email') {
      throw new PermanentDeliveryError(`The smtp driver cannot send on channel ${message.channel}`);
    }
    const sending = this.transport.sendMail({
      from: this.from,
      to: message.to,
      subject: message.subject ?? message.body.split('\n')[0],
      text: message.body,
      html: message.html ?? emailHtml(message.body, message.locale),
      headers: { 'X-Entity-Ref-ID': message.id },
    });
    try {
      const info: SMTPSentMessageInfo = await abortable(sending, signal);
      if (info.rejected.length > 0) {
        throw new PermanentDeliveryError('the SMTP server rejected the recipient');
      }
      return info.messageId ? { providerMessageId: String(info.messageId).slice(0, 64) } : {};
    } catch (error) {
      throw describe(error);
    }
  }

  async onModuleDestroy(): Promise<void> {
    this.transport.close();
  }
}

/** Resolves like `work`, or rejects when `signal` aborts first. */
function abortable<T>(work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return work;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('SMTP send timed out'));
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/**
 * An error safe to log (no address, no text): a 5xx reply for the recipient or the message is
 * permanent, the rest (4xx, network, TLS, authentication) is left to the outbox's retries.
 */
function describe(error: unknown): Error {
  if (error instanceof PermanentDeliveryError) return error;
  const { responseCode, code } = (error ?? {}) as { responseCode?: unknown; code?: unknown };
  const kind = typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : 'ERROR';
  if (typeof responseCode === 'number') {
    const reply = `SMTP ${kind}: reply ${responseCode}`;
    return PERMANENT_SMTP.has(responseCode) && kind !== 'EAUTH'
      ? new PermanentDeliveryError(
          `the SMTP server refused the message (${reply})`,
          String(responseCode),
        )
      : new Error(reply);
  }
  if (error instanceof Error && error.message === 'SMTP send timed out') return error;
  return new Error(`SMTP send failed: ${kind}`);
}
