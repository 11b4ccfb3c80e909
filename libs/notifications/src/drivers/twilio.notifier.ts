import { AsyncLocalStorage } from 'node:async_hooks';
import twilio from 'twilio';
import type TwilioRequestClient from 'twilio/lib/base/RequestClient';
import type { TwilioConfig } from '@app/config';
import { DeliveryReceipt, Notifier, OutgoingMessage, PermanentDeliveryError } from '../notifier';
import { VOICE_LANGUAGES } from '../templates/voice.texts';

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
  [21215, 'geographic permission for this call is not enabled'],
  [21216, 'call blocked: the number is not permitted'],
  [63003, 'WhatsApp: the channel could not find the To address'],
  [63024, 'WhatsApp: invalid message recipient'],
  [30003, 'unreachable destination handset'],
  [30005, 'unknown destination handset'],
  [30006, 'landline or unreachable carrier'],
]);

/** A Messaging Service SID; Twilio wants it as MessagingServiceSid rather than From. */
const MESSAGING_SERVICE_SID = /^MG/;
/** The most Twilio accepts for a message's ValidityPeriod (its default). */
const MAX_VALIDITY_SECONDS = 36_000;

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

type Sender = { from: string } | { messagingServiceSid: string };

function senderOf(from: string): Sender {
  return MESSAGING_SERVICE_SID.test(from) ? { messagingServiceSid: from } : { from };
}

/** Pauses between the digits of a code read out, and before it is said again (seconds). */
const DIGIT_PAUSE = 1;
const REPEAT_PAUSE = 2;

/** Text for TwiML: the five characters XML gives meaning to, escaped. */
function xml(text: string): string {
  return text.replace(
    /[<>&'"]/g,
    (char) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[char]!,
  );
}

/**
 * The TwiML of a code's call: the purpose (the message's text), then the code digit by digit
 * with pauses, twice, all in the locale's language.
 */
export function voiceTwiml(message: Pick<OutgoingMessage, 'body' | 'code' | 'locale'>): string {
  const code = message.code ?? '';
  if (!/^\d{1,12}$/.test(code)) throw new PermanentDeliveryError('a call needs the code (digits)');
  const language = VOICE_LANGUAGES[message.locale ?? 'en'] ?? VOICE_LANGUAGES.en;
  const say = (text: string) => `<Say language="${language}">${xml(text)}</Say>`;
  const digits = [...code].map(say).join(`<Pause length="${DIGIT_PAUSE}"/>`);
  return (
    `<?xml version="1.0" encoding="UTF-8"?><Response>${say(message.body)}` +
    `<Pause length="${DIGIT_PAUSE}"/>${digits}<Pause length="${REPEAT_PAUSE}"/>${digits}</Response>`
  );
}

/**
 * Sends SMS and WhatsApp messages through Twilio's Messages API and calls through its Calls
 * API. The only file that imports the twilio package.
 */
export class TwilioNotifier extends Notifier {
  readonly name = 'twilio';
  private readonly client: twilio.Twilio;
  private readonly sms?: Sender;
  private readonly whatsapp?: Sender;
  private readonly voiceFrom?: string;
  private readonly contentSid?: string;
  private readonly statusCallback?: string;

  constructor(
    config: TwilioConfig,
    private readonly timeoutMs: number,
  ) {
    super();
    const { accountSid, authToken, from } = config;
    if (!accountSid || !authToken || !(from || config.whatsappFrom || config.voiceFrom)) {
      throw new Error('TwilioNotifier needs accountSid, authToken and a sender');
    }
    if (from) this.sms = senderOf(from);
    if (config.whatsappFrom) this.whatsapp = senderOf(config.whatsappFrom);
    this.voiceFrom = config.voiceFrom ?? from;
    this.contentSid = config.whatsappContentSid;
    this.statusCallback = config.statusCallbackUrl;
    this.client = twilio(accountSid, authToken, {
      httpClient: new RebasedRequestClient(config.apiUrl, timeoutMs),
    });
  }

  async send(message: OutgoingMessage, signal?: AbortSignal): Promise<DeliveryReceipt> {
    const create = this.request(message);
    if (signal?.aborted) throw new Error('Twilio send aborted before the request was made');

    // A hard deadline for the whole exchange; axios' own timeout only covers socket inactivity.
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, deadline]) : deadline;
    try {
      const created = await requestSignal.run(combined, create);
      return created.sid ? { providerMessageId: created.sid } : {};
    } catch (error) {
      throw this.describe(error, deadline, signal);
    }
  }

  /** The request of the message's channel; PermanentDeliveryError for a channel it cannot serve. */
  private request(message: OutgoingMessage): () => Promise<{ sid?: string }> {
    // Twilio queues a message up to 10 hours by default: a code must not arrive after it died.
    const validity = message.validForSeconds
      ? { validityPeriod: Math.min(MAX_VALIDITY_SECONDS, message.validForSeconds) }
      : {};
    const options = {
      ...validity,
      ...(this.statusCallback ? { statusCallback: this.statusCallback } : {}),
    };
    switch (message.channel) {
      case 'sms': {
        const sender = this.sms;
        if (!sender) break;
        return () =>
          this.client.messages.create({
            to: message.to,
            body: message.body,
            ...sender,
            ...options,
          });
      }
      case 'whatsapp': {
        const sender = this.whatsapp;
        if (!sender) break;
        const to = `whatsapp:${message.to}`;
        if (this.contentSid) {
          const contentVariables = JSON.stringify({ 1: message.code ?? '' });
          const contentSid = this.contentSid;
          return () =>
            this.client.messages.create({
              to,
              contentSid,
              contentVariables,
              ...sender,
              ...options,
            });
        }
        return () => this.client.messages.create({ to, body: message.body, ...sender, ...options });
      }
      case 'voice': {
        const from = this.voiceFrom;
        if (!from) break;
        const twiml = voiceTwiml(message);
        const callbacks = this.statusCallback
          ? {
              statusCallback: this.statusCallback,
              statusCallbackEvent: ['initiated', 'ringing', 'answered', 'completed'],
            }
          : {};
        return () => this.client.calls.create({ to: message.to, from, twiml, ...callbacks });
      }
      default:
        break;
    }
    throw new PermanentDeliveryError(`The twilio driver cannot send on channel ${message.channel}`);
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

/**
 * Whether `signature` (X-Twilio-Signature) is Twilio's signature of a webhook posted to `url`
 * with form `params`, checked by the twilio package's own validator with the auth token.
 */
export function validTwilioSignature(
  authToken: string,
  signature: string,
  url: string,
  params: Record<string, string>,
): boolean {
  return twilio.validateRequest(authToken, signature, url, params);
}
