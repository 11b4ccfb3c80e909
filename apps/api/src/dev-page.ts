import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { sign } from 'jsonwebtoken';
import type { Logger as PinoLogger } from 'pino';
import { AppConfig, DEV_PARTNER_CLIENT_ID } from '@app/config';
import { partnerTokenClaims } from '@app/partners';

/**
 * The reference page of development (README "Add phone verification to your page"): `/` shows
 * <otp-link-verify> signed in as a fresh development user, beside an inbox of the `file` notify
 * driver. None of these routes exists when NODE_ENV=production; they are not part of the API
 * (not in the OpenAPI document).
 */
export const DEV_PAGE_ROUTES = ['/', '/dev/page.js', '/dev/token', '/dev/inbox'] as const;

/** The repository: this file runs from apps/api/src (ts-node) or dist/apps/api/src (nest start). */
const ROOT =
  [join(__dirname, '..', '..', '..'), join(__dirname, '..', '..', '..', '..')].find((dir) =>
    existsSync(join(dir, 'packages', 'element', 'reference', 'page.ts')),
  ) ?? join(__dirname, '..', '..', '..');
const PAGE_SCRIPT = join(ROOT, 'packages', 'element', 'reference', 'page.ts');
const CLIENT_SOURCE = join(ROOT, 'packages', 'client', 'src', 'index.ts');
/** Newest messages the inbox shows, and how much of the file's end it reads for them. */
const INBOX_SIZE = 8;
const INBOX_TAIL_BYTES = 64 * 1024;
const TOKEN_HOURS = 1;

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>otp-link: phone verification (development)</title>
<link rel="icon" href="data:,">
<style>
  body { margin: 0; font: 1rem/1.5 system-ui, sans-serif; color: #1b1b1f; background: #f4f5f8; }
  header, main { max-width: 60rem; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.5rem; margin: 0.5rem 0; }
  h2 { font-size: 1.15rem; margin: 0 0 0.75rem; }
  .note { color: #44474f; margin: 0; }
  main { display: flex; flex-wrap: wrap; gap: 1.5rem; align-items: flex-start; }
  main > section { flex: 1 1 20rem; min-width: 0; }
  #inbox-list { list-style: none; margin: 0; padding: 0; display: grid; gap: 0.5rem; }
  #inbox-list li { background: #fff; border: 1px solid #c4c6d0; border-radius: 0.5rem; padding: 0.5rem 0.75rem; overflow-wrap: anywhere; }
  #inbox-list .meta { color: #44474f; font-size: 0.875rem; display: block; }
  code { font-size: 0.95em; }
</style>
</head>
<body>
<header>
  <h1>Link your phone number</h1>
  <p class="note">Development reference page of otp-link: the <code>&lt;otp-link-verify&gt;</code>
  element, signed in as a new development user (<span id="user">…</span>). Not served in production.</p>
</header>
<main>
  <section aria-labelledby="verify-title">
    <h2 id="verify-title">Verify your phone</h2>
    <otp-link-verify default-country="IN"></otp-link-verify>
  </section>
  <section aria-labelledby="inbox-title">
    <h2 id="inbox-title">Development inbox</h2>
    <p class="note" id="inbox-note">Loading…</p>
    <ul id="inbox-list" aria-live="polite"></ul>
  </section>
</main>
<script type="module" src="/dev/page.js"></script>
</body>
</html>
`;

/** One message of the inbox, newest first. */
export interface InboxMessage {
  channel: string;
  to: string;
  body: string;
  code: string | null;
  at: string;
}

/** The newest messages of NOTIFY_FILE (the file driver's JSON lines), newest first. */
export async function readInbox(file: string, size = INBOX_SIZE): Promise<InboxMessage[]> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch {
    return [];
  }
  try {
    const { size: bytes } = await handle.stat();
    const start = Math.max(0, bytes - INBOX_TAIL_BYTES);
    const buffer = Buffer.alloc(bytes - start);
    await handle.read(buffer, 0, buffer.length, start);
    const lines = buffer.toString('utf8').split('\n');
    // The first line of a tail read may be cut.
    if (start > 0) lines.shift();
    const messages: InboxMessage[] = [];
    for (const line of lines.reverse()) {
      if (messages.length >= size) break;
      try {
        const parsed = JSON.parse(line) as Partial<InboxMessage>;
        if (typeof parsed.to !== 'string' || typeof parsed.body !== 'string') continue;
        messages.push({
          channel: String(parsed.channel ?? ''),
          to: parsed.to,
          body: parsed.body,
          code: typeof parsed.code === 'string' ? parsed.code : null,
          at: String(parsed.at ?? ''),
        });
      } catch {
        // A partial or foreign line: skipped.
      }
    }
    return messages;
  } finally {
    await handle.close();
  }
}

/** Serves the reference page, its script, a development token and the inbox; off in production. */
export function serveDevelopmentPage(
  app: NestFastifyApplication,
  config: AppConfig,
  logger: PinoLogger,
): void {
  if (config.isProduction) return;
  const fastify = app.getHttpAdapter().getInstance();
  let script: Promise<string> | undefined;

  fastify.get('/', async (_request, reply) => {
    // The API's policy, less upgrade-insecure-requests: opened over plain http from another
    // device (http://192.168.…:3000/), the page's own script must not be asked for over https.
    const policy = reply.getHeader('content-security-policy');
    if (typeof policy === 'string') {
      void reply.header(
        'content-security-policy',
        policy
          .split(';')
          .filter((directive) => directive.trim() !== 'upgrade-insecure-requests')
          .join(';'),
      );
    }
    return reply.header('cache-control', 'no-store').type('text/html; charset=utf-8').send(PAGE);
  });

  // Bundled from the packages' TypeScript on the first request (esbuild, a development
  // dependency): nothing built is kept in the repository, and nothing is built in production.
  fastify.get('/dev/page.js', async (_request, reply) => {
    script ??= bundlePage();
    try {
      const code = await script;
      return reply
        .header('cache-control', 'no-store')
        .type('text/javascript; charset=utf-8')
        .send(code);
    } catch (error) {
      script = undefined;
      logger.error({ err: { message: (error as Error).message } }, 'reference page: bundle failed');
      return reply
        .status(500)
        .type('text/javascript; charset=utf-8')
        .send(
          // A visible hint on the page: the element's script could not be built.
          `document.body.insertAdjacentText('afterbegin', ${JSON.stringify(
            'The reference page could not be built (is esbuild installed? run npm ci)',
          )});\n`,
        );
    }
  });

  fastify.post('/dev/token', async (_request, reply) => {
    const userId = `dev-${randomBytes(4).toString('hex')}`;
    const now = Math.floor(Date.now() / 1000);
    const token = sign(
      {
        ...partnerTokenClaims({ clientId: DEV_PARTNER_CLIENT_ID, userId, clientName: 'Ludo' }),
        iat: now,
        exp: now + TOKEN_HOURS * 3600,
      },
      config.partnerJwt.secret,
      { algorithm: 'HS256' },
    );
    return reply
      .header('cache-control', 'no-store')
      .send({ token, clientId: DEV_PARTNER_CLIENT_ID, userId, expiresIn: TOKEN_HOURS * 3600 });
  });

  fastify.get('/dev/inbox', async (_request, reply) => {
    const { driver, file } = config.notify;
    const messages = file ? await readInbox(file) : [];
    return reply
      .header('cache-control', 'no-store')
      .send({ driver, file: Boolean(file), messages });
  });
}

async function bundlePage(): Promise<string> {
  // Loaded only here: a development dependency, absent from production images.
  const { build } = await import('esbuild');
  const result = await build({
    entryPoints: [PAGE_SCRIPT],
    bundle: true,
    format: 'esm',
    target: 'es2020',
    write: false,
    minify: false,
    alias: { '@otp-link/client': CLIENT_SOURCE },
    logLevel: 'silent',
  });
  return result.outputFiles[0].text;
}
