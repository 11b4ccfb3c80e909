import { AsyncLocalStorage } from 'node:async_hooks';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient';
import type { TwilioConfig } from '@app/config';
import { DeliveryReceipt, Notifier, OutgoingMessage, PermanentDeliveryError } from '../notifier';

/**
 * Twilio error codes that mean this message can never reach this recipient (bad or unreachable
 * number, opted out, region blocked): retrying cannot help, so they become PermanentDeliveryError.
 * 300xx codes normally arrive later by status callback; they are listed in case they come back
 * synchronously. Anything not listed is treated as transient.
 */
export const PERMANENT_TWILIO_ERROR_CODES: ReadonlyMap<number, string> = new Map([
  [21211, "invalid 'To' number"],
  [21217, 'phone number does not appear to be valid'],
  [21265, "'To' number cannot be a short code"],
  [21401, 'invalid phone number'],
  [21408, 'sending to this region is not enabled'],
  [21421, 'phone number is invalid'],
  [21610, 'recipient has unsubscribed (STOP)'],
  [21612, "'To' number cannot be reached from this sender"],
  [21614, "'To' number is not a mobile number"],
  [30003, 'unreachable destination handset'],
  [30005, 'unknown destination handset'],
  [30006, 'landline or unreachable carrier'],
]);

/** A Messaging Service SID; Twilio wants it as MessagingServiceSid rather than From. */
const MESSAGING_SERVICE_SID = /^MG/;

/**
 * Hands the per-send AbortSignal to the axios request twilio makes. twilio's request options have
 * no signal, but the axios request interceptor runs inside send()'s async context.
 */
const requestSignal = new AsyncLocalStorage<AbortSignal>();

/**
 * twilio v6 hard-codes https://api.twilio.com as each domain's base URL (rest/ApiBase.js) and
 * sends every request through the client's `httpClient`, a RequestClient. Subclassing it is the
 * supported hook (ClientOpts.httpClient), so the origin is swapped here: this keeps twilio's
 * URL building, auth header, form encoding and error parsing, and works with plain http.
 */
class RebasedRequestClient extends twilio.RequestClient {
  private readonly base: string;

  constructor(apiUrl: string, timeoutMs: number) {
    // timeout: axios request timeout and https socket timeout; no 429 auto-retry, the outbox retries.
    super({ timeout: timeoutMs, autoRetry: false });
    const url = new URL(apiUrl);
    this.base = url.origin + url.pathname.replace(/\/+$/, '');
    this.axios.interceptors.request.use((config) => {
      const signal = requestSignal.getStore();
      if (signal) config.signal = signal;
      return config;
    });
  }

  override request<TData>(opts: TwilioRequestClient.RequestOptions<TData>) {
    const url = new URL(opts.uri);
    return super.request({ ...opts, uri: `${this.base}${url.pathname}${url.search}` });
  }
}

/** Sends SMS through Twilio's Messages API. The only file that imports the twilio package. */
export class TwilioNotifier extends Notifier {
  readonly name = 'twilio';
  private readonly client: twilio.Twilio;
  private readonly sender: { from: string } | { messagingServiceSid: string };

  constructor(
    config: TwilioConfig,
    private readonly timeoutMs: number,
  ) {
    super();
    const { accountSid, authToken, from } = config;
    if (!accountSid || !authToken || !from) {
      throw new Error('TwilioNotifier needs accountSid, authToken and from');
    }
    this.sender = MESSAGING_SERVICE_SID.test(from) ? { messagingServiceSid: from } : { from };
    this.client = twilio(accountSid, authToken, {
      httpClient: new RebasedRequestClient(config.apiUrl, timeoutMs),
    });
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    if (message.channel !== 'sms') {
      throw new PermanentDeliveryError(
        `The twilio driver cannot send on channel ${message.channel}`,
      );
    }
    if (signal?.aborted) throw new Error('Twilio send aborted before the request was made');

    // A hard deadline for the whole exchange; axios' own timeout only covers socket inactivity.
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const created = await requestSignal.run(combined, () =>
        this.client.messages.create({ to: message.to, body: message.body, ...this.sender }),
      );
      return created.sid ? { providerMessageId: created.sid } : {};
    } catch (error) {
      throw this.describe(error, deadline, signal);
    }
  }

  /**
   * Turns whatever twilio or axios threw into an error that is safe to log. The original is not
   * kept as `cause`: axios errors carry the request config (Authorization header, form body) and
   * Twilio's messages quote the phone number.
   */
  private describe(error: unknown, deadline: AbortSignal, signal?: AbortSignal): Error {
    const http = twilioHttpError(error);
    if (http) {
      const code = http.code === undefined ? '' : `, code ${http.code}`;
      const label =
        http.code === undefined ? undefined : PERMANENT_TWILIO_ERROR_CODES.get(http.code);
      if (label && http.status >= 400 && http.status < 500) {
        return new PermanentDeliveryError(
          `Twilio refused the message: HTTP ${http.status}${code} (${label})`,
          String(http.code),
        );
      }
      return new Error(`Twilio request failed: HTTP ${http.status}${code}`);
    }
    const networkCode = errorCode(error);
    // The deadline first: the caller's signal is often a timeout of the same length, and
    // "timed out" is what an operator needs to read then.
    const callerTimedOut =
      (signal?.reason as { name?: string } | undefined)?.name === 'TimeoutError';
    if (
      deadline.aborted ||
      callerTimedOut ||
      networkCode === 'ECONNABORTED' ||
      networkCode === 'ETIMEDOUT'
    ) {
      return new Error(`Twilio request timed out after ${this.timeoutMs} ms`);
    }
    if (signal?.aborted) return new Error('Twilio request aborted');
    if (networkCode) return new Error(`Twilio request failed: ${networkCode}`);
    const name = error instanceof Error ? error.name : typeof error;
    return new Error(`Twilio request failed (${name})`);
  }
}

/**
 * RestException (legacy error JSON) and TwilioServiceException (RFC 9457, not exported by the
 * package) both carry the HTTP status and Twilio's numeric code.
 */
function twilioHttpError(error: unknown): { status: number; code?: number } | undefined {
  if (!(error instanceof Error)) return undefined;
  const { status, code } = error as Error & { status?: unknown; code?: unknown };
  if (typeof status !== 'number') return undefined;
  if (error instanceof twilio.RestException || typeof code === 'number') {
    return { status, code: typeof code === 'number' && code > 0 ? code : undefined };
  }
  return undefined;
}

/** A Node/axios error code such as ECONNREFUSED; only the code, never the message. */
function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[A-Z][A-Z0-9_]*$/.test(code) ? code : undefined;
}
