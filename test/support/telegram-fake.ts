import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A loopback fake of the Telegram Bot API's sendMessage: it checks the path (`/bot<token>/
 * sendMessage`), the token, the content type and the JSON, and answers like the Bot API
 * (`{ok, result}` or `{ok: false, error_code, description}`). Plain node:http, no Jest.
 */
export const FAKE_TELEGRAM_TOKEN = '123456789:AAF-fake_telegram_bot_token_0123456';

export interface TelegramRequest {
  method: string;
  path: string;
  contentType?: string;
  json?: Record<string, unknown>;
}

export interface SentTelegram {
  chat_id: number;
  text: string;
  message_id: number;
}

export class TelegramFake {
  readonly requests: TelegramRequest[] = [];
  readonly sent: SentTelegram[] = [];
  private readonly script: Array<{ status: number; description: string }> = [];
  private server?: Server;
  private baseUrl = '';
  private nextId = 1;

  constructor(readonly token = FAKE_TELEGRAM_TOKEN) {}

  get url(): string {
    if (!this.baseUrl) throw new Error('TelegramFake is not listening; call start() first');
    return this.baseUrl;
  }

  /** The next answers, in order (e.g. 403 "bot was blocked by the user"); then success. */
  respondWith(...answers: Array<{ status: number; description: string }>): void {
    this.script.push(...answers);
  }

  reset(): void {
    this.requests.length = 0;
    this.sent.length = 0;
    this.script.length = 0;
  }

  async start(): Promise<this> {
    const server = createServer((req, res) => this.handle(req, res));
    this.server = server;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    this.baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: TelegramRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        contentType: req.headers['content-type'],
      };
      try {
        request.json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<
          string,
          unknown
        >;
      } catch {
        // left undefined: answered 400 below
      }
      this.requests.push(request);
      this.route(request, res);
    });
  }

  private route(request: TelegramRequest, res: ServerResponse): void {
    const match = /^\/bot([^/]+)\/sendMessage$/.exec(request.path);
    if (request.method !== 'POST' || !match) return fail(res, 404, 'Not Found');
    if (match[1] !== this.token) return fail(res, 401, 'Unauthorized');
    const json = request.json;
    if (!request.contentType?.startsWith('application/json') || !json) {
      return fail(res, 400, 'Bad Request: message text is empty');
    }
    if (typeof json.chat_id !== 'number' && typeof json.chat_id !== 'string') {
      return fail(res, 400, 'Bad Request: chat_id is empty');
    }
    if (typeof json.text !== 'string' || json.text === '') {
      return fail(res, 400, 'Bad Request: message text is empty');
    }
    const scripted = this.script.shift();
    if (scripted) return fail(res, scripted.status, scripted.description);
    const sent = { chat_id: Number(json.chat_id), text: json.text, message_id: this.nextId++ };
    this.sent.push(sent);
    answer(res, 200, {
      ok: true,
      result: { message_id: sent.message_id, chat: { id: sent.chat_id }, text: sent.text },
    });
  }
}

export async function startTelegramFake(token?: string): Promise<TelegramFake> {
  return new TelegramFake(token).start();
}

function fail(res: ServerResponse, status: number, description: string): void {
  answer(res, status, { ok: false, error_code: status, description });
}

function answer(res: ServerResponse, status: number, body: unknown): void {
  if (res.destroyed) return;
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify(body));
}
