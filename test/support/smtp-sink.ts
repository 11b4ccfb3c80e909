import type { AddressInfo } from 'node:net';
import { SMTPServer, type SMTPServerSession } from 'smtp-server';

/**
 * A real SMTP server on loopback (the smtp-server package) that records every message it is
 * given: the envelope, whether the session was upgraded by STARTTLS, who authenticated, and the
 * raw message. It offers STARTTLS with smtp-server's own self-signed certificate for localhost.
 */
export interface ReceivedMail {
  from: string;
  to: string[];
  /** The session went through STARTTLS before the message. */
  secure: boolean;
  user?: string;
  raw: string;
  /** The headers, names lower-cased (unfolded; a repeated name keeps its last value). */
  headers: Record<string, string>;
  /** The decoded text of each part by its content type: `text/plain`, `text/html`. */
  parts: Record<string, string>;
}

export interface SmtpSinkOptions {
  user?: string;
  password?: string;
}

export class SmtpSink {
  readonly mails: ReceivedMail[] = [];
  /** Replies to RCPT TO in order (e.g. 550 for an unknown mailbox); afterwards accepted. */
  private readonly rcptReplies: number[] = [];
  private server?: SMTPServer;
  port = 0;

  constructor(private readonly options: SmtpSinkOptions = {}) {}

  /** SMTP_URL for this server; the test certificate is self-signed, so the client is told. */
  get url(): string {
    const { user, password } = this.options;
    const auth = user ? `${encodeURIComponent(user)}:${encodeURIComponent(password ?? '')}@` : '';
    return `smtp://${auth}127.0.0.1:${this.port}/?tls.rejectUnauthorized=false`;
  }

  refuseRecipients(...codes: number[]): void {
    this.rcptReplies.push(...codes);
  }

  async start(): Promise<this> {
    const { user, password } = this.options;
    const server = new SMTPServer({
      logger: false,
      authOptional: !user,
      disabledCommands: user ? [] : ['AUTH'],
      onAuth: (auth, _session, callback) => {
        if (auth.username === user && auth.password === password) {
          callback(null, { user: auth.username });
        } else {
          callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
        }
      },
      onRcptTo: (_address, _session, callback) => {
        const code = this.rcptReplies.shift();
        if (code === undefined) return callback();
        callback(Object.assign(new Error(`refused (${code})`), { responseCode: code }));
      },
      onData: (stream, session, callback) => {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          this.mails.push(parse(Buffer.concat(chunks).toString('utf8'), session));
          callback();
        });
      },
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    this.port = (server.server.address() as AddressInfo).port;
    return this;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  return new SmtpSink(options).start();
}

function parse(raw: string, session: SMTPServerSession): ReceivedMail {
  const [head] = raw.split(/\r?\n\r?\n/, 1);
  const headers = headerMap(head);
  const parts: Record<string, string> = {};
  const boundary = /boundary="?([^";]+)"?/.exec(headers['content-type'] ?? '')?.[1];
  const sections = boundary ? raw.split(`--${boundary}`).slice(1, -1) : [raw];
  for (const section of sections) {
    const split = section.search(/\r?\n\r?\n/);
    const partHeaders = headerMap(section.slice(0, split).trim());
    const body = section.slice(split).replace(/^\r?\n\r?\n/, '');
    const type = (partHeaders['content-type'] ?? 'text/plain').split(';')[0].trim();
    parts[type] = decode(body, partHeaders['content-transfer-encoding'])
      .replace(/\r\n/g, '\n')
      .trimEnd();
  }
  const envelope = session.envelope;
  return {
    from: envelope.mailFrom ? envelope.mailFrom.address : '',
    to: envelope.rcptTo.map((rcpt) => rcpt.address),
    secure: session.secure,
    user: typeof session.user === 'string' ? session.user : undefined,
    raw,
    headers,
    parts,
  };
}

function headerMap(head: string): Record<string, string> {
  const map: Record<string, string> = {};
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) map[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return map;
}

function decode(body: string, encoding = '7bit'): string {
  switch (encoding.toLowerCase()) {
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    case 'quoted-printable': {
      const bytes = body
        .replace(/=\r?\n/g, '')
        .replace(/=([0-9A-F]{2})/gi, (_whole, hex: string) => `%${hex}`);
      return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
    }
    default:
      return body;
  }
}

/** An RFC 2047 encoded header (=?UTF-8?Q?…?= or =?UTF-8?B?…?=), decoded. */
export function decodeHeader(value: string): string {
  return value.replace(/=\?utf-8\?([qb])\?([^?]*)\?=\s*/gi, (_whole, kind: string, text: string) =>
    kind.toLowerCase() === 'b'
      ? Buffer.from(text, 'base64').toString('utf8')
      : decodeURIComponent(
          text
            .replace(/_/g, ' ')
            .replace(/=([0-9A-F]{2})/gi, '%$1')
            .replace(/%(?![0-9A-F]{2})/gi, '%25'),
        ),
  );
}
