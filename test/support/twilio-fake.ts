import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingHttpHeaders,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback fake of the part of Twilio's REST API that otp-link uses (creating a Message).
 * Plain node:http and no Jest, so e2e tests can point TWILIO_API_URL at it while running the
 * whole service.
 */

export interface TwilioFakeOptions {
  accountSid?: string;
  authToken?: string;
}

export interface RecordedRequest {
  method: string;
  /** Path and query string as received, e.g. /2010-04-01/Accounts/AC…/Messages.json */
  path: string;
  headers: IncomingHttpHeaders;
  /** The application/x-www-form-urlencoded body; a repeated key keeps its last value. */
  form: Record<string, string>;
  rawBody: string;
  /** From the Basic Authorization header, when there is one. */
  username?: string;
  password?: string;
}

export interface ScriptedResponse {
  status: number;
  /** JSON body; when omitted, a Message resource built from the request. */
  body?: unknown;
  /** Hold the response back this long, to exercise client timeouts. */
  delayMs?: number;
  /** Answer with `Connection: close`: the client's next request needs a new connection. */
  closeConnection?: boolean;
}

/** A Message resource as Twilio returns it (subset of fields, same spelling). */
export interface FakeMessage {
  sid: string;
  account_sid: string;
  api_version: '2010-04-01';
  to: string;
  from: string | null;
  messaging_service_sid: string | null;
  body: string;
  status: string;
  direction: 'outbound-api';
  num_segments: string;
  num_media: string;
  price: null;
  price_unit: string;
  error_code: null;
  error_message: null;
  date_created: string;
  date_updated: string;
  date_sent: null;
  uri: string;
  subresource_uris: { media: string };
}

export interface TwilioErrorBody {
  code: number;
  message: string;
  more_info: string;
  status: number;
}

export const DEFAULT_FAKE_ACCOUNT_SID = 'AC' + '0123456789abcdef'.repeat(2);
export const DEFAULT_FAKE_AUTH_TOKEN = 'fake-twilio-auth-token-0123456789';

const RESOURCE_PATH = /^\/2010-04-01\/Accounts\/([^/]+)\/(Messages|Calls)\.json$/;

/** A Call resource as Twilio returns it (subset of fields, same spelling). */
export interface FakeCall {
  sid: string;
  account_sid: string;
  to: string;
  from: string;
  status: 'queued';
  direction: 'outbound-api';
  /** Not a field of Twilio's answer: the TwiML the call was created with, for tests. */
  twiml: string;
  uri: string;
}

export class TwilioFake {
  readonly requests: RecordedRequest[] = [];
  /** Messages the fake accepted (answered with 2xx and the default Message body). */
  readonly messages: FakeMessage[] = [];
  /** Calls the fake accepted. */
  readonly calls: FakeCall[] = [];
  readonly accountSid: string;
  readonly authToken: string;
  private readonly script: ScriptedResponse[] = [];
  private readonly timers = new Set<NodeJS.Timeout>();
  private server?: Server;
  private baseUrl = '';

  constructor(options: TwilioFakeOptions = {}) {
    this.accountSid = options.accountSid ?? DEFAULT_FAKE_ACCOUNT_SID;
    this.authToken = options.authToken ?? DEFAULT_FAKE_AUTH_TOKEN;
  }

  /** Twilio's error JSON, as a scripted response. */
  static error(status: number, code: number, message: string): ScriptedResponse {
    return { status, body: twilioError(status, code, message) };
  }

  /** Base URL to use as TWILIO_API_URL, e.g. http://127.0.0.1:43123 */
  get url(): string {
    if (!this.baseUrl) throw new Error('TwilioFake is not listening; call start() first');
    return this.baseUrl;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    const { port } = server.address() as AddressInfo;
    this.baseUrl = `http://127.0.0.1:${port}`;
    return this;
  }

  /** Scripts the next responses to message requests, in order; afterwards the default (201). */
  respondWith(...responses: ScriptedResponse[]): void {
    this.script.push(...responses);
  }

  /** Forgets recorded requests, accepted messages and pending scripted responses. */
  reset(): void {
    this.requests.length = 0;
    this.messages.length = 0;
    this.calls.length = 0;
    this.script.length = 0;
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    // Clients keep connections alive; drop them or close() would wait for their idle timeout.
    server.closeAllConnections();
    await new Promise<void>((resolve, reject) =>
      server.close((err) => (err ? reject(err) : resolve())),
    );
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const rawBody = Buffer.concat(chunks).toString('utf8');
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        form: isForm(req.headers) ? parseForm(rawBody) : {},
        rawBody,
        ...parseBasicAuth(req.headers.authorization),
      };
      this.requests.push(recorded);
      this.route(recorded, res);
    });
  }

  private route(request: RecordedRequest, res: ServerResponse): void {
    const pathname = new URL(request.path, 'http://fake').pathname;
    const match = RESOURCE_PATH.exec(pathname);
    if (!match || request.method !== 'POST') {
      const message = `The requested resource ${pathname} was not found`;
      return send(res, 404, twilioError(404, 20404, message));
    }
    if (request.username !== this.accountSid || request.password !== this.authToken) {
      return send(res, 401, twilioError(401, 20003, 'Authenticate'));
    }
    if (decodeURIComponent(match[1]) !== this.accountSid) {
      return send(
        res,
        404,
        twilioError(404, 20404, `The requested resource ${pathname} was not found`),
      );
    }

    const scripted = this.script.shift() ?? { status: 201 };
    const reply = (): void => {
      if (scripted.closeConnection) res.setHeader('Connection', 'close');
      if (scripted.body !== undefined) return send(res, scripted.status, scripted.body);
      if (scripted.status >= 300) {
        // Twilio's generic codes mirror the status: 20429, 20500, 20503, …
        const code = 20000 + scripted.status;
        return send(res, scripted.status, twilioError(scripted.status, code, 'Fake error'));
      }
      // No scripted body: behave like Twilio, including its validation of required fields.
      if (match[2] === 'Calls') {
        const invalid = validateCall(request.form);
        if (invalid) return send(res, invalid.status, invalid);
        const call = this.buildCall(request.form);
        this.calls.push(call);
        return send(res, scripted.status, call);
      }
      const invalid = validateMessage(request.form);
      if (invalid) return send(res, invalid.status, invalid);
      const message = this.buildMessage(request.form);
      this.messages.push(message);
      send(res, scripted.status, message);
    };
    if (!scripted.delayMs) return reply();
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      reply();
    }, scripted.delayMs);
    this.timers.add(timer);
  }

  private buildCall(form: Record<string, string>): FakeCall {
    const sid = 'CA' + randomBytes(16).toString('hex');
    return {
      sid,
      account_sid: this.accountSid,
      to: form.To,
      from: form.From,
      status: 'queued',
      direction: 'outbound-api',
      twiml: form.Twiml,
      uri: `/2010-04-01/Accounts/${this.accountSid}/Calls/${sid}.json`,
    };
  }

  private buildMessage(form: Record<string, string>): FakeMessage {
    const sid = 'SM' + randomBytes(16).toString('hex');
    const uri = `/2010-04-01/Accounts/${this.accountSid}/Messages/${sid}`;
    // Twilio dates are RFC 2822 with a numeric zone.
    const now = new Date().toUTCString().replace('GMT', '+0000');
    return {
      sid,
      account_sid: this.accountSid,
      api_version: '2010-04-01',
      to: form.To,
      from: form.From ?? null,
      messaging_service_sid: form.MessagingServiceSid ?? null,
      body: form.Body ?? '',
      status: 'queued',
      direction: 'outbound-api',
      num_segments: '1',
      num_media: '0',
      price: null,
      price_unit: 'USD',
      error_code: null,
      error_message: null,
      date_created: now,
      date_updated: now,
      date_sent: null,
      uri: `${uri}.json`,
      subresource_uris: { media: `${uri}/Media.json` },
    };
  }
}

/** Starts a fake on 127.0.0.1 with a random free port. */
export async function startTwilioFake(options: TwilioFakeOptions = {}): Promise<TwilioFake> {
  return new TwilioFake(options).start();
}

function twilioError(status: number, code: number, message: string): TwilioErrorBody {
  return { code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status };
}

function validateMessage(form: Record<string, string>): TwilioErrorBody | undefined {
  if (!form.To) return twilioError(400, 21604, "A 'To' phone number is required.");
  if (!form.From && !form.MessagingServiceSid) {
    return twilioError(400, 21603, "A 'From' phone number is required.");
  }
  if (!form.Body && !form.ContentSid) return twilioError(400, 21602, 'Message body is required.');
  return undefined;
}

function validateCall(form: Record<string, string>): TwilioErrorBody | undefined {
  if (!form.To) return twilioError(400, 21201, "No 'To' number is specified");
  if (!form.From) return twilioError(400, 21213, "No 'From' number is specified");
  if (!form.Twiml && !form.Url) return twilioError(400, 21205, 'Url parameter is required.');
  return undefined;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  // The client may have given up (timeout test); writing to a destroyed socket is pointless.
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8' });
  res.end(JSON.stringify(body));
}

function isForm(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

function parseForm(raw: string): Record<string, string> {
  return Object.fromEntries(new URLSearchParams(raw));
}

function parseBasicAuth(header: string | undefined): { username?: string; password?: string } {
  const match = /^Basic\s+(\S+)$/i.exec(header ?? '');
  if (!match) return {};
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return { username: decoded };
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
