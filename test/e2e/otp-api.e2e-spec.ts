import { randomInt } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { http, HttpResult } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';
import { e2eDatabase } from '../support/test-database';
import { sentMessages, uniquePhone } from '../support/otp-client';
import { registeredClient, TEST_ADMIN_KEY } from '../support/admin';
import { OtpRetentionJob } from '@app/otp';
import { FAKE_TELEGRAM_TOKEN, startTelegramFake, TelegramFake } from '../support/telegram-fake';

/**
 * The OTP API for backends (OTP-API.md, Perfumer-compatible) end to end: HTTP Basic with a
 * client's id and API secret, POST /sms, /call, /email, /telegram, their checks, the clients'
 * own limits (exact under concurrency), GET /target and the Telegram bot against a loopback fake
 * of the Bot API. Runs on the embedded database and on PostgreSQL.
 */

const WEBHOOK_SECRET = 'webhook-secret-0123456789abcdef';
const BOT_CLIENT = 'otp-bot-client';
/** The service's own per-target hourly limit in this suite (OTP_MAX_SENDS_PER_PHONE_PER_HOUR). */
const SERVICE_PER_TARGET = 8;

type Credentials = { id: string; secret: string };

function basic(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.id}:${credentials.secret}`).toString('base64')}`;
}

function query(params: Record<string, string | number>): string {
  const search = new URLSearchParams(
    Object.entries(params).map(([key, value]): [string, string] => [key, String(value)]),
  );
  return `?${search.toString()}`;
}

/** A phone as the API takes it: digits, country code first, no `+`. */
function apiPhone(): { digits: string; e164: string } {
  const { e164 } = uniquePhone();
  return { digits: e164.slice(1), e164 };
}

function uniqueEmail(): string {
  return `user${randomInt(1e9, 1e10)}@example.com`;
}

function uniqueChat(): string {
  return String(randomInt(1e8, 1e10));
}

describe('OTP API for backends (OTP-API.md)', () => {
  let t: TestApp;
  let telegram: TelegramFake;
  let a: Credentials;
  let b: Credentials;
  let bot: Credentials;

  beforeAll(async () => {
    telegram = await startTelegramFake();
    t = await startTestApp({
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      NOTIFY_CHANNELS: 'sms,voice,email,telegram',
      EMAIL_DRIVER: 'file',
      TELEGRAM_DRIVER: 'telegram',
      TELEGRAM_BOT_TOKEN: FAKE_TELEGRAM_TOKEN,
      TELEGRAM_API_URL: telegram.url,
      TELEGRAM_WEBHOOK_SECRET: WEBHOOK_SECRET,
      TELEGRAM_BOT_CLIENT_ID: BOT_CLIENT,
      OTP_MAX_SENDS_PER_PHONE_PER_HOUR: String(SERVICE_PER_TARGET),
      OTP_MAX_SENDS_PER_PREFIX_PER_HOUR: '100000',
      OTP_MAX_SENDS_PER_CLIENT_PER_HOUR: '100000',
      OTP_MAX_SENDS_PER_HOUR: '100000',
      OTP_MAX_ATTEMPTS: '3',
      PUMPING_MIN_SENDS: '1000000',
      BLOCKED_NUMBER_TYPES: 'none',
    });
    a = (await registeredClient(t)).credentials;
    b = (await registeredClient(t)).credentials;
    bot = (await registeredClient(t, '--id', BOT_CLIENT)).credentials;
  });
  afterEach(() => telegram.reset());
  afterAll(async () => {
    await t?.close();
    await telegram?.close();
  });

  function call(
    method: string,
    path: string,
    options: { as?: Credentials | null; body?: unknown; headers?: Record<string, string> } = {},
  ): Promise<HttpResult> {
    const as = options.as === undefined ? a : options.as;
    return http(t.url, method, path, {
      headers: { ...(as ? { authorization: basic(as) } : {}), ...options.headers },
      body: options.body,
    });
  }

  /** A GET with a JSON body, as the original image's callers send checks (fetch cannot). */
  function getWithBody(
    path: string,
    body: unknown,
    as: Credentials = a,
    contentType = 'application/json',
  ) {
    const payload = JSON.stringify(body);
    return new Promise<{ status: number; body: Record<string, unknown> }>((resolve, reject) => {
      const req = httpRequest(
        `${t.url}${path}`,
        {
          method: 'GET',
          headers: {
            authorization: basic(as),
            'content-type': contentType,
            'content-length': Buffer.byteLength(payload),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** The newest message the file driver wrote to `to`. */
  function lastTo(to: string) {
    const message = sentMessages(t.messagesFile)
      .filter((m) => m.to === to)
      .pop();
    if (!message) throw new Error(`nothing was sent to ${to}`);
    return message as ReturnType<typeof sentMessages>[number] & { subject?: string };
  }

  describe('credentials', () => {
    const REFUSED = { status: false, message: 'unauthorized' };

    it.each<[string, Record<string, string>]>([
      ['no Authorization', {}],
      ['a wrong secret', { authorization: 'Basic ' + Buffer.from('x:y').toString('base64') }],
      ['a Bearer token', { authorization: 'Bearer abc' }],
      ['garbage base64', { authorization: 'Basic !!!' }],
      ['no colon', { authorization: 'Basic ' + Buffer.from('abc').toString('base64') }],
      ['an oversized header', { authorization: 'Basic ' + 'A'.repeat(5000) }],
    ])('refuses %s: 401 with WWW-Authenticate', async (_name, headers) => {
      const response = await call('POST', '/sms', {
        as: null,
        headers,
        body: { phone: apiPhone().digits },
      });
      expect(response.status).toBe(401);
      expect(response.body).toEqual(REFUSED);
      expect(response.headers['www-authenticate']).toBe('Basic realm="otp"');
    });

    it("refuses a client's id with another client's secret, and a suspended client", async () => {
      const mixed = await call('GET', '/sms/check' + query({ phone: '1', password: '1' }), {
        as: { id: a.id, secret: b.secret },
      });
      expect(mixed.status).toBe(401);
      expect(mixed.body).toEqual(REFUSED);
      const other = (await registeredClient(t)).credentials;
      expect((await call('GET', '/limit/sms', { as: other })).status).toBe(200);
      await http(t.url, 'POST', `/admin/clients/${other.id}/suspend`, {
        headers: { 'x-admin-key': TEST_ADMIN_KEY },
      });
      const suspended = await call('GET', '/limit/sms', { as: other });
      expect(suspended.status).toBe(401);
      expect(suspended.headers['www-authenticate']).toBe('Basic realm="otp"');
    });

    it('answers every route 401 without credentials', async () => {
      for (const [method, path] of [
        ['POST', '/call'],
        ['POST', '/email'],
        ['POST', '/telegram'],
        ['GET', '/email/check'],
        ['GET', '/target'],
        ['POST', '/limit/telegram'],
        ['GET', '/limit/email'],
      ]) {
        const response = await call(method, path, { as: null });
        expect([path, response.status, response.body]).toEqual([path, 401, REFUSED]);
      }
    });
  });

  describe('SMS', () => {
    it('sends the caller-given password in its message ({code} replaced) and checks it', async () => {
      const phone = apiPhone();
      const created = await call('POST', '/sms', {
        body: {
          phone: phone.digits,
          password: '12345',
          lifetime: 300,
          message: 'Your OTP is {code}',
        },
      });
      expect(created.status).toBe(200);
      expect(created.body).toEqual({ status: true });
      expect(lastTo(phone.e164)).toMatchObject({ channel: 'sms', body: 'Your OTP is 12345' });

      const right = await call(
        'GET',
        '/sms/check' + query({ phone: phone.digits, password: '12345' }),
      );
      expect(right.status).toBe(200);
      expect(right.body).toEqual({ status: true });
      // A right password stays valid until its lifetime ends.
      const again = await call(
        'GET',
        '/sms/check' + query({ phone: phone.digits, password: '12345' }),
      );
      expect(again.body).toEqual({ status: true });
      const wrong = await call(
        'GET',
        '/sms/check' + query({ phone: phone.digits, password: '54321' }),
      );
      expect(wrong.body).toEqual({ status: false });
    });

    it('makes an OTP_LENGTH-digit password in the standard text when none is given', async () => {
      const phone = apiPhone();
      expect((await call('POST', '/sms', { body: { phone: phone.digits } })).body).toEqual({
        status: true,
      });
      const sent = lastTo(phone.e164);
      expect(sent.code).toMatch(/^\d{6}$/);
      expect(sent.body).toContain(sent.code);
      const check = await getWithBody('/sms/check', { phone: phone.digits, password: sent.code });
      expect(check.body).toEqual({ status: true });
      // Stored only as a keyed hash.
      const rows = await t.dataSource.query(
        `SELECT encode(code_hash, 'hex') AS hash FROM otp_api_codes WHERE target = $1`,
        [phone.e164],
      );
      expect(rows).toHaveLength(1);
      expect(JSON.stringify(rows)).not.toContain(sent.code);
    });

    it('takes the query and the JSON body together, the body winning', async () => {
      const phone = apiPhone();
      const created = await call(
        'POST',
        '/sms' + query({ phone: phone.digits, password: '1111' }),
        {
          body: { password: '2222' },
        },
      );
      expect(created.body).toEqual({ status: true });
      const ofBody = await getWithBody(
        '/sms/check' + query({ phone: phone.digits, password: '1' }),
        {
          password: '2222',
        },
      );
      expect(ofBody.body).toEqual({ status: true });
      const ofQuery = await call(
        'GET',
        '/sms/check' + query({ phone: phone.digits, password: '1111' }),
      );
      expect(ofQuery.body).toEqual({ status: false });
    });

    it('keeps several passwords of one target live, each with its own lifetime', async () => {
      const phone = apiPhone();
      await call('POST', '/sms', { body: { phone: phone.digits, password: '1001', lifetime: 60 } });
      await call('POST', '/sms', {
        body: { phone: phone.digits, password: '1002', lifetime: 600 },
      });
      const check = (password: string) =>
        call('GET', '/sms/check' + query({ phone: phone.digits, password }));
      expect((await check('1001')).body).toEqual({ status: true });
      expect((await check('1002')).body).toEqual({ status: true });
      t.clock.advance(61);
      try {
        expect((await check('1001')).body).toEqual({ status: false });
        expect((await check('1002')).body).toEqual({ status: true });
      } finally {
        t.clock.advance(-61);
      }
    });

    it('refuses a message without the password or {code}, and invalid values (400)', async () => {
      const phone = apiPhone().digits;
      const cases: Array<[Record<string, unknown>, string | RegExp]> = [
        [{}, '"phone" parameter must be set'],
        [{ phone: '' }, '"phone" parameter must be set'],
        [
          { phone, message: 'no code here' },
          '"message" must contain the password or the placeholder {code}',
        ],
        [
          { phone, password: '777', message: 'code 778' },
          '"message" must contain the password or the placeholder {code}',
        ],
        [{ phone: '12' }, /"phone"/],
        [{ phone: '999999999999' }, /"phone"/],
        [{ phone: 'DROP TABLE otp_api_codes' }, /"phone"/],
        [{ phone: { $ne: 1 } }, '"phone" parameter must be a string'],
        [{ phone: [phone] }, '"phone" parameter must be a string'],
        [{ phone, lifetime: 0 }, '"lifetime" must be an integer from 1 to 86400 (seconds)'],
        [{ phone, lifetime: 86401 }, '"lifetime" must be an integer from 1 to 86400 (seconds)'],
        [{ phone, lifetime: 1.5 }, '"lifetime" must be an integer from 1 to 86400 (seconds)'],
        [{ phone, lifetime: 'soon' }, '"lifetime" must be an integer from 1 to 86400 (seconds)'],
        [{ phone, password: 'has space' }, /"password" must be/],
        [{ phone, password: 'x'.repeat(65) }, /"password" must be/],
        [
          { phone, message: '{code}'.padEnd(1001, '!') },
          '"message" must be at most 1000 characters',
        ],
        [{ phone, message: 'code {code}\u0000' }, '"message" has control characters'],
        [{ phone, ip: 'not-an-ip' }, '"ip" must be an IPv4 or IPv6 address'],
        [{ phone, ip: 42 }, '"ip" must be an IPv4 or IPv6 address'],
      ];
      for (const [body, message] of cases) {
        const response = await call('POST', '/sms', { body });
        expect([body, response.status]).toEqual([body, 400]);
        expect(response.body.status).toBe(false);
        if (typeof message === 'string') expect(response.body.message).toBe(message);
        else expect(response.body.message).toMatch(message);
      }
      expect(sentMessages(t.messagesFile).filter((m) => m.to === `+${phone}`)).toEqual([]);
    });

    it('checks lengths on the text as sent, after {code} is replaced (400)', async () => {
      const phone = apiPhone().digits;
      const password = 'A'.repeat(64);
      // 996 characters as given, 10 624 once each {code} is the 64-character password.
      const over = await call('POST', '/sms', {
        body: { phone, password, message: '{code}'.repeat(166) },
      });
      expect(over.status).toBe(400);
      expect(over.body).toEqual({
        status: false,
        message: '"message" must be at most 1000 characters',
      });
      expect(sentMessages(t.messagesFile).filter((m) => m.to === `+${phone}`)).toEqual([]);
      // Exactly at the maximum once replaced: sent.
      const at = await call('POST', '/sms', {
        body: { phone, password, message: `${'{code}'.repeat(15)}${'.'.repeat(40)}` },
      });
      expect(at.status).toBe(200);
      expect(lastTo(`+${phone}`).body).toHaveLength(1000);
    });

    it('answers malformed, non-object, oversized and poisoned bodies with 400/413 in its own shape', async () => {
      const raw = (body: string, contentType = 'application/json') =>
        call('POST', '/sms', { body, headers: { 'content-type': contentType } });
      for (const body of ['{"phone":', '[1,2]', '"text"', '{"__proto__":{"x":1}}']) {
        const response = await raw(body);
        expect([body, response.status, response.body.status]).toEqual([body, 400, false]);
        expect(typeof response.body.message).toBe('string');
      }
      const huge = await raw(JSON.stringify({ phone: '1', message: 'x'.repeat(200_000) }));
      expect(huge.status).toBe(413);
      expect(huge.body).toEqual({ status: false, message: expect.any(String) });
      const form = await raw('phone=1', 'application/x-www-form-urlencoded');
      expect(form.status).toBe(415);
      expect(form.body.status).toBe(false);
    });

    it('refuses hostile GET bodies on checks: not JSON, not an object, oversized', async () => {
      const phone = apiPhone().digits;
      expect((await getWithBody('/sms/check', [phone])).status).toBe(400);
      expect(
        (await getWithBody('/sms/check', { phone, password: 'x'.repeat(20_000) })).status,
      ).toBe(413);
      const wrongType = await getWithBody('/sms/check', { phone, password: { $gt: '' } });
      expect(wrongType).toEqual({
        status: 400,
        body: { status: false, message: '"password" parameter must be a string' },
      });
    });

    it('reads a GET body by its media type, as a POST body is read', async () => {
      const phone = apiPhone().digits;
      const check = { phone, password: '123456' };
      const plain = await getWithBody('/sms/check', check);
      expect(plain).toEqual({ status: 200, body: { status: false } });
      // A media type is case-insensitive and may carry parameters; another type is not JSON.
      expect(await getWithBody('/sms/check', check, a, 'APPLICATION/Json; charset=utf-8')).toEqual(
        plain,
      );
      expect(await getWithBody('/sms/check', check, a, 'application/jsonfoo')).toEqual({
        status: 415,
        body: { status: false, message: 'a request body must be JSON' },
      });
    });

    it('refuses repeated and prototype-poisoning query parameters', async () => {
      const phone = apiPhone().digits;
      const repeated = await call('POST', `/sms?phone=${phone}&phone=${phone}`);
      expect(repeated.status).toBe(400);
      expect(repeated.body).toEqual({
        status: false,
        message: '"phone" parameter must be a string',
      });
      const poisoned = await call(
        'GET',
        `/sms/check?__proto__[password]=1&constructor[prototype][x]=1&phone=${phone}`,
      );
      expect(poisoned.status).toBe(400);
      expect(poisoned.body).toEqual({ status: false, message: '"password" parameter must be set' });
      expect(({} as Record<string, unknown>).password).toBeUndefined();
    });

    it('caps wrong checks: after OTP_MAX_ATTEMPTS every check is false until a new password', async () => {
      const phone = apiPhone();
      await call('POST', '/sms', { body: { phone: phone.digits, password: '4242' } });
      const check = (password: string) =>
        call('GET', '/sms/check' + query({ phone: phone.digits, password }));
      // 10 wrong checks at once: exactly 3 count, the rest find the cap.
      await Promise.all(Array.from({ length: 10 }, (_, i) => check(String(9000 + i))));
      const [row] = await t.dataSource.query(
        `SELECT wrong_checks FROM otp_api_codes WHERE target = $1`,
        [phone.e164],
      );
      expect(row.wrong_checks).toBe(3);
      expect((await check('4242')).body).toEqual({ status: false });
      await call('POST', '/sms', { body: { phone: phone.digits, password: '5353' } });
      expect((await check('5353')).body).toEqual({ status: true });
      expect((await check('4242')).body).toEqual({ status: true });
    });

    it("answers the service's own limits 429 rate_limited in the contract's shape", async () => {
      const phone = apiPhone();
      for (let i = 0; i < SERVICE_PER_TARGET; i++) {
        expect((await call('POST', '/sms', { body: { phone: phone.digits } })).status).toBe(200);
      }
      const over = await call('POST', '/sms', { body: { phone: phone.digits } });
      expect(over.status).toBe(429);
      expect(over.body).toEqual({
        status: false,
        status_code: 'rate_limited',
        message: 'too many codes sent to this phone; try again later',
      });
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    });
  });

  describe('call, email and telegram', () => {
    it('calls a phone and reads the password; a call password must be digits', async () => {
      const phone = apiPhone();
      expect(
        (await call('POST', '/call', { body: { phone: phone.digits, password: '2468' } })).body,
      ).toEqual({
        status: true,
      });
      expect(lastTo(phone.e164)).toMatchObject({ channel: 'voice', code: '2468' });
      expect(
        (await call('GET', '/call/check' + query({ phone: phone.digits, password: '2468' }))).body,
      ).toEqual({
        status: true,
      });
      const letters = await call('POST', '/call', {
        body: { phone: phone.digits, password: 'abc' },
      });
      expect(letters.status).toBe(400);
      expect(letters.body.message).toMatch(/digits/);
    });

    it('emails with subject and text, or html, and the standard template', async () => {
      const email = uniqueEmail();
      const created = await call('POST', '/email', {
        body: {
          email: email.toUpperCase(),
          password: '12345',
          subject: 'Hello',
          text: 'Your OTP is {code}',
        },
      });
      expect(created.body).toEqual({ status: true });
      expect(lastTo(email)).toMatchObject({
        channel: 'email',
        subject: 'Hello',
        body: 'Your OTP is 12345',
      });
      expect(
        (await call('GET', '/email/check' + query({ email, password: '12345' }))).body,
      ).toEqual({
        status: true,
      });

      const html = await call('POST', '/email', {
        body: { email, password: '777888', html: '<p>Code <b>{code}</b></p>' },
      });
      expect(html.body).toEqual({ status: true });
      expect(lastTo(email).body).toBe('Code 777888');

      await call('POST', '/email', { body: { email } });
      const standard = lastTo(email);
      expect(standard.body).toContain(standard.code);

      const badHtml = await call('POST', '/email', { body: { email, html: '<p>no code</p>' } });
      expect(badHtml.status).toBe(400);
      expect(badHtml.body).toEqual({
        status: false,
        message: '"html" must contain the password or the placeholder {code}',
      });
      const notAnAddress = await call('POST', '/email', { body: { email: 'nobody' } });
      expect(notAnAddress.status).toBe(400);
      expect(notAnAddress.body).toEqual({
        status: false,
        message: 'email must be an email address',
      });
      expect((await call('POST', '/email', { body: {} })).body).toEqual({
        status: false,
        message: '"email" parameter must be set',
      });
    });

    it('refuses control characters and lone surrogates in an email as any bad address', async () => {
      const refused = { status: false, message: 'email must be an email address' };
      // NUL once reached PostgreSQL (500); \u0001 was accepted and sent.
      for (const email of ['a\u0000b@example.com', '\ud800@example.com', 'a\u0001b@example.com']) {
        const sent = await call('POST', '/email', { body: { email, password: '777777' } });
        expect([sent.status, sent.body]).toEqual([400, refused]);
      }
      // (A query string cannot carry a lone surrogate: it arrives as U+FFFD.)
      for (const email of ['a%00b@example.com', 'a%01b@example.com']) {
        const checked = await call('GET', `/email/check?email=${email}&password=777777`);
        expect([checked.status, checked.body]).toEqual([400, refused]);
      }
    });

    it('checks subject and text lengths after {code} is replaced, and keeps a subject one line', async () => {
      const email = uniqueEmail();
      const password = 'A'.repeat(64);
      const subjectRefused = {
        status: false,
        message: '"subject" must be at most 200 characters, one line',
      };
      const cases: Array<[Record<string, unknown>, Record<string, unknown>]> = [
        // 198 characters as given, 2 112 as sent.
        [{ subject: '{code}'.repeat(33) }, subjectRefused],
        [{ subject: 'Hello\r\nBcc: victim@example.com' }, subjectRefused],
        [{ subject: 'Hello\nthere' }, subjectRefused],
        [{ subject: 'Hello\rthere' }, subjectRefused],
        [{ subject: 'Hello\tthere' }, subjectRefused],
        [{ subject: 'Hello\u0085there' }, subjectRefused],
        [{ subject: 'Hello\u2028there' }, subjectRefused],
        [
          { text: '{code}'.repeat(200) },
          { status: false, message: '"text" must be at most 10000 characters' },
        ],
        [
          { html: `<p>${'{code}'.repeat(200)}</p>` },
          { status: false, message: '"html" must be at most 10000 characters' },
        ],
      ];
      for (const [fields, answer] of cases) {
        const response = await call('POST', '/email', { body: { email, password, ...fields } });
        expect([fields, response.status, response.body]).toEqual([fields, 400, answer]);
      }
      expect(sentMessages(t.messagesFile).filter((m) => m.to === email)).toEqual([]);
    });

    it('sends to a Telegram chat through the Bot API and checks it', async () => {
      const chat = uniqueChat();
      const created = await call('POST', '/telegram', {
        body: { chat_id: chat, password: '13579', message: 'Code: {code}' },
      });
      expect(created.body).toEqual({ status: true });
      expect(telegram.sent).toEqual([
        expect.objectContaining({ chat_id: Number(chat), text: 'Code: 13579' }),
      ]);
      expect(
        (await call('GET', '/telegram/check' + query({ chat_id: chat, password: '13579' }))).body,
      ).toEqual({
        status: true,
      });
      expect(
        (await call('GET', '/telegram/check' + query({ chat_id: 'abc', password: '1' }))).status,
      ).toBe(400);
      expect((await call('GET', '/telegram/check' + query({ chat_id: chat }))).body).toEqual({
        status: false,
        message: '"password" parameter must be set',
      });
    });

    it('answers 422 undeliverable when the provider refuses the target for good', async () => {
      telegram.respondWith({ status: 403, description: 'Forbidden: bot was blocked by the user' });
      const refused = await call('POST', '/telegram', { body: { chat_id: uniqueChat() } });
      expect(refused.status).toBe(422);
      expect(refused.body).toEqual({
        status: false,
        status_code: 'undeliverable',
        message: expect.any(String),
      });
    });

    it('keeps channels apart: an SMS password does not check on /call, nor on /email', async () => {
      const phone = apiPhone();
      await call('POST', '/sms', { body: { phone: phone.digits, password: '8642' } });
      expect(
        (await call('GET', '/call/check' + query({ phone: phone.digits, password: '8642' }))).body,
      ).toEqual({
        status: false,
      });
      expect(
        (await call('GET', '/sms/check' + query({ phone: phone.digits, password: '8642' }))).body,
      ).toEqual({
        status: true,
      });
    });

    it("keeps clients apart: B never checks, finds or limits A's passwords", async () => {
      const phone = apiPhone();
      await call('POST', '/sms', { body: { phone: phone.digits, password: '97531' } });
      expect(
        (
          await call('GET', '/sms/check' + query({ phone: phone.digits, password: '97531' }), {
            as: b,
          })
        ).body,
      ).toEqual({ status: false });
      const chat = uniqueChat();
      await call('POST', '/telegram', { body: { chat_id: chat, password: 'tg-A-1' } });
      expect(
        (
          await call('GET', '/target' + query({ channel: 'telegram', password: 'tg-A-1' }), {
            as: b,
          })
        ).body,
      ).toEqual({
        status: false,
      });
      expect(
        (await call('GET', '/target' + query({ channel: 'telegram', password: 'tg-A-1' }))).body,
      ).toEqual({
        status: true,
        target: chat,
      });
      await call('POST', '/limit/sms', { as: b, body: { phones: [{ minutes: 10, rate: 1 }] } });
      expect((await call('GET', '/limit/sms')).body).toEqual({ ips: [], phones: [] });
      // A's own sends are not limited by B's limits.
      expect((await call('POST', '/sms', { body: { phone: phone.digits } })).status).toBe(200);
    });
  });

  describe('limits', () => {
    it('replaces and answers the channel limits with its own key names', async () => {
      const client = (await registeredClient(t)).credentials;
      expect((await call('GET', '/limit/email', { as: client })).body).toEqual({
        ips: [],
        emails: [],
      });
      const set = await call('POST', '/limit/sms', {
        as: client,
        body: { ips: [{ minutes: 10, rate: 20 }], phones: [{ minutes: 10, rate: 3 }] },
      });
      expect(set.status).toBe(200);
      expect(set.body).toEqual({ status: true });
      expect((await call('GET', '/limit/sms', { as: client })).body).toEqual({
        ips: [{ minutes: 10, rate: 20 }],
        phones: [{ minutes: 10, rate: 3 }],
      });
      await call('POST', '/limit/sms', { as: client, body: { ips: [{ minutes: 1, rate: 1 }] } });
      expect((await call('GET', '/limit/sms', { as: client })).body).toEqual({
        ips: [{ minutes: 1, rate: 1 }],
        phones: [],
      });
      expect((await call('GET', '/limit/call', { as: client })).body).toEqual({
        ips: [],
        phones: [],
      });
      expect((await call('GET', '/limit/telegram', { as: client })).body).toEqual({
        ips: [],
        chat_ids: [],
      });
    });

    it('refuses invalid limits (400)', async () => {
      for (const body of [
        { phones: 'many' },
        { phones: [{ minutes: 0, rate: 1 }] },
        { phones: [{ minutes: 10, rate: -1 }] },
        { phones: [{ minutes: 10, rate: 1.5 }] },
        { phones: [{ minutes: 10, rate: 1, extra: true }] },
        { phones: [{ minutes: 1441, rate: 1 }] },
        { phones: [null] },
        { phones: Array.from({ length: 11 }, () => ({ minutes: 1, rate: 1 })) },
        { emails: [{ minutes: 1, rate: 1 }] },
      ]) {
        const response = await call('POST', '/limit/sms', { body });
        expect([body, response.status, response.body.status]).toEqual([body, 400, false]);
      }
    });

    it('refuses a create over a target limit: 400 phone_limit with the limit', async () => {
      const client = (await registeredClient(t)).credentials;
      await call('POST', '/limit/sms', {
        as: client,
        body: { phones: [{ minutes: 10, rate: 3 }] },
      });
      const phone = apiPhone();
      for (let i = 0; i < 3; i++) {
        expect(
          (await call('POST', '/sms', { as: client, body: { phone: phone.digits } })).status,
        ).toBe(200);
      }
      const over = await call('POST', '/sms', { as: client, body: { phone: phone.digits } });
      expect(over.status).toBe(400);
      expect(over.body).toEqual({
        status: false,
        status_code: 'phone_limit',
        message: 'Limits are reached: phone - 3 in 10 minutes',
      });
      // Per channel: a call to the same phone is not limited by the SMS limits.
      expect(
        (await call('POST', '/call', { as: client, body: { phone: phone.digits } })).status,
      ).toBe(200);
      // The window slides.
      t.clock.advance(601);
      try {
        expect(
          (await call('POST', '/sms', { as: client, body: { phone: phone.digits } })).status,
        ).toBe(200);
      } finally {
        t.clock.advance(-601);
      }
    });

    it('counts exactly under 50 concurrent creates: IP and email limits', async () => {
      const client = (await registeredClient(t)).credentials;
      await call('POST', '/limit/email', {
        as: client,
        body: { ips: [{ minutes: 10, rate: 7 }], emails: [{ minutes: 60, rate: 4 }] },
      });
      const ip = `203.0.113.${randomInt(1, 255)}`;
      const byIp = await Promise.all(
        Array.from({ length: 50 }, () =>
          call('POST', '/email', { as: client, body: { email: uniqueEmail(), ip } }),
        ),
      );
      expect(byIp.filter((r) => r.status === 200)).toHaveLength(7);
      const refused = byIp.filter((r) => r.status !== 200);
      expect(refused).toHaveLength(43);
      for (const response of refused) {
        expect(response.status).toBe(400);
        expect(response.body).toEqual({
          status: false,
          status_code: 'ip_limit',
          message: 'Limits are reached: ip - 7 in 10 minutes',
        });
      }

      const email = uniqueEmail();
      const byTarget = await Promise.all(
        Array.from({ length: 50 }, () => call('POST', '/email', { as: client, body: { email } })),
      );
      expect(byTarget.filter((r) => r.status === 200)).toHaveLength(4);
      expect(byTarget.filter((r) => r.body.status_code === 'email_limit')).toHaveLength(46);
      expect(byTarget.find((r) => r.status !== 200)?.body.message).toBe(
        'Limits are reached: email - 4 in 60 minutes',
      );
    });

    it('counts every spelling of one address under one IP limit, and an IPv6 /64 as one', async () => {
      const client = (await registeredClient(t)).credentials;
      await call('POST', '/limit/sms', { as: client, body: { ips: [{ minutes: 10, rate: 2 }] } });
      const send = (ip: string) =>
        call('POST', '/sms', { as: client, body: { phone: apiPhone().digits, ip } });
      const ipLimit = {
        status: false,
        status_code: 'ip_limit',
        message: 'Limits are reached: ip - 2 in 10 minutes',
      };

      const octet = randomInt(1, 255);
      const hex = (0xcb007100 + octet).toString(16); // 203.0.113.<octet>
      expect((await send(`203.0.113.${octet}`)).status).toBe(200);
      expect((await send(`::ffff:203.0.113.${octet}`)).status).toBe(200);
      for (const ip of [
        `203.0.113.${octet}`,
        `::ffff:203.0.113.${octet}`,
        `::FFFF:${hex.slice(0, 4)}:${hex.slice(4)}`,
        `0:0:0:0:0:ffff:203.0.113.${octet}`,
      ]) {
        const response = await send(ip);
        expect([ip, response.status, response.body]).toEqual([ip, 400, ipLimit]);
      }

      const net = `2001:db8:${randomInt(1, 0xffff).toString(16)}`;
      expect((await send(`${net}::1`)).status).toBe(200);
      expect((await send(`${net}:0::1`)).status).toBe(200);
      for (const ip of [
        `${net.replace('2001:db8', '2001:0db8')}::1`,
        `${net.toUpperCase()}:0:0:0:0:1`,
        // Another address of the same /64: one host usually holds the whole /64.
        `${net}:0:dead:beef:1:2`,
      ]) {
        const response = await send(ip);
        expect([ip, response.status, response.body]).toEqual([ip, 400, ipLimit]);
      }
      // The next /64 is another network.
      expect((await send(`${net}:1::1`)).status).toBe(200);

      // A zone index names a link of the sender, not an address: refused as not an address.
      for (const ip of [`${net}::1%eth0`, `${net}::1%25`, 'fe80::1%1']) {
        const response = await send(ip);
        expect([ip, response.status, response.body]).toEqual([
          ip,
          400,
          { status: false, message: '"ip" must be an IPv4 or IPv6 address' },
        ]);
      }
    });

    it('answers chat_id_limit on telegram', async () => {
      const client = (await registeredClient(t)).credentials;
      await call('POST', '/limit/telegram', {
        as: client,
        body: { chat_ids: [{ minutes: 5, rate: 1 }] },
      });
      const chat = uniqueChat();
      expect(
        (await call('POST', '/telegram', { as: client, body: { chat_id: chat } })).status,
      ).toBe(200);
      expect(
        (await call('POST', '/telegram', { as: client, body: { chat_id: chat } })).body,
      ).toEqual({
        status: false,
        status_code: 'chat_id_limit',
        message: 'Limits are reached: chat_id - 1 in 5 minutes',
      });
    });
  });

  describe('Telegram bot', () => {
    function update(chatId: number | string, text = '/start') {
      return {
        update_id: randomInt(1, 1e9),
        message: {
          message_id: 1,
          date: Math.floor(Date.now() / 1000),
          chat: { id: chatId, type: 'private' },
          from: { id: chatId, is_bot: false, first_name: 'Asha' },
          text,
        },
      };
    }

    function webhook(body: unknown, secret: string | null = WEBHOOK_SECRET) {
      return http(t.url, 'POST', '/telegram/webhook', {
        headers: secret === null ? {} : { 'x-telegram-bot-api-secret-token': secret },
        body,
      });
    }

    it('answers a message with a fresh 8-digit password that GET /target turns into the chat', async () => {
      const chat = Number(uniqueChat());
      const answered = await webhook(update(chat));
      expect(answered.status).toBe(200);
      expect(answered.body).toEqual({ status: true });
      expect(telegram.sent).toHaveLength(1);
      expect(telegram.sent[0].chat_id).toBe(chat);
      const password = /(?<!\d)(\d{8})(?!\d)/.exec(telegram.sent[0].text)?.[1];
      expect(password).toMatch(/^\d{8}$/);

      const found = await call(
        'GET',
        '/target' + query({ channel: 'telegram', password: password! }),
        {
          as: bot,
        },
      );
      expect(found.body).toEqual({ status: true, target: String(chat) });
      // The chat id can then be used to check and send like any other.
      expect(
        (
          await call('GET', '/telegram/check' + query({ chat_id: chat, password: password! }), {
            as: bot,
          })
        ).body,
      ).toEqual({ status: true });
      // Another client does not find the bot's passwords.
      expect(
        (await call('GET', '/target' + query({ channel: 'telegram', password: password! }))).body,
      ).toEqual({
        status: false,
      });
    });

    it("gives each chat its own live password (unique among the bot's live ones)", async () => {
      const chats = Array.from({ length: 10 }, () => Number(uniqueChat()));
      await Promise.all(chats.map((chat) => webhook(update(chat))));
      const passwords = telegram.sent.map((m) => /(\d{8})/.exec(m.text)?.[1]);
      expect(new Set(passwords).size).toBe(10);
      for (const sent of telegram.sent) {
        const password = /(\d{8})/.exec(sent.text)![1];
        const found = await call('GET', '/target' + query({ channel: 'telegram', password }), {
          as: bot,
        });
        expect(found.body).toEqual({ status: true, target: String(sent.chat_id) });
      }
    });

    it("spamming the bot from one chat stops at the service's per-target limit, still 200", async () => {
      const chat = Number(uniqueChat());
      for (let i = 0; i < SERVICE_PER_TARGET + 2; i++) {
        expect((await webhook(update(chat))).status).toBe(200);
      }
      expect(telegram.sent.filter((m) => m.chat_id === chat)).toHaveLength(SERVICE_PER_TARGET);
    });

    it('refuses a forged webhook (403) and sends nothing', async () => {
      for (const secret of [null, '', 'wrong', WEBHOOK_SECRET + 'x', 'x'.repeat(5000)]) {
        const forged = await webhook(update(42), secret);
        expect([secret?.slice(0, 10), forged.status]).toEqual([secret?.slice(0, 10), 403]);
        expect(forged.body).toEqual({ status: false, message: 'forbidden' });
      }
      expect(telegram.requests).toEqual([]);
    });

    it('ignores updates that are not messages, and hostile ones, with 200', async () => {
      for (const body of [
        { update_id: 1 },
        { update_id: 1, message: { chat: { id: 'x; DROP' } } },
        { update_id: 1, message: { chat: { id: 1.5 } } },
        { update_id: 1, edited_message: { chat: { id: 5 } } },
      ]) {
        const response = await webhook(body);
        expect([body, response.status]).toEqual([body, 200]);
      }
      expect(telegram.requests).toEqual([]);
    });

    it('answers groups, supergroups and channels 200 and sends them no password', async () => {
      for (const body of [
        { message: { chat: { id: -1001234567890123 } } },
        { update_id: 2, message: { chat: { id: -1001234567890123, type: 'supergroup' } } },
        { update_id: 3, message: { chat: { id: -123456789, type: 'group' } } },
        { update_id: 4, message: { chat: { id: -1001234567890123, type: 'channel' } } },
        { update_id: 5, channel_post: { chat: { id: -1001234567890123, type: 'channel' } } },
        // A chat that says private but has a group's id is not one.
        { update_id: 6, message: { chat: { id: -123456789, type: 'private' } } },
        { update_id: 7, message: { chat: { id: Number(uniqueChat()) } } },
      ]) {
        const response = await webhook(body);
        expect([body, response.status, response.body]).toEqual([body, 200, { status: true }]);
      }
      expect(telegram.requests).toEqual([]);
    });

    it('counts wrong /target guesses toward the IP limits', async () => {
      const client = (await registeredClient(t)).credentials;
      await call('POST', '/limit/telegram', {
        as: client,
        body: { ips: [{ minutes: 10, rate: 3 }] },
      });
      const chat = uniqueChat();
      await call('POST', '/telegram', {
        as: client,
        body: { chat_id: chat, password: 'right-one' },
      });
      const ip = '198.51.100.7';
      const guess = (password: string) =>
        call('GET', '/target' + query({ channel: 'telegram', password, ip }), { as: client });
      for (let i = 0; i < 3; i++)
        expect((await guess(`wrong-${i}`)).body).toEqual({ status: false });
      // The address is at its limit: even the right password is not looked up for it.
      expect((await guess('right-one')).body).toEqual({ status: false });
      expect(
        (
          await call(
            'GET',
            '/target' + query({ channel: 'telegram', password: 'right-one', ip: '198.51.100.8' }),
            {
              as: client,
            },
          )
        ).body,
      ).toEqual({ status: true, target: chat });
      // And creates for that address are refused as well.
      const create = await call('POST', '/telegram', { as: client, body: { chat_id: chat, ip } });
      expect(create.body.status_code).toBe('ip_limit');
    });

    it('counts /target guesses under one key whatever the spelling of the address', async () => {
      const client = (await registeredClient(t)).credentials;
      await call('POST', '/limit/telegram', {
        as: client,
        body: { ips: [{ minutes: 10, rate: 3 }] },
      });
      const chat = uniqueChat();
      await call('POST', '/telegram', { as: client, body: { chat_id: chat, password: 'right' } });
      const net = `2001:db8:${randomInt(1, 0xffff).toString(16)}`;
      const guess = (password: string, ip: string) =>
        call('GET', '/target' + query({ channel: 'telegram', password, ip }), { as: client });
      for (const ip of [`${net}::1`, `${net}:0::1`, `${net}::2`]) {
        expect((await guess('wrong', ip)).body).toEqual({ status: false });
      }
      // Capped: the right password is not looked up for any spelling of the /64.
      expect((await guess('right', `${net.toUpperCase()}::1`)).body).toEqual({ status: false });
      expect((await guess('right', `${net}:1::1`)).body).toEqual({ status: true, target: chat });
      const zoned = await guess('right', `${net}::1%eth0`);
      expect([zoned.status, zoned.body]).toEqual([
        400,
        { status: false, message: '"ip" must be an IPv4 or IPv6 address' },
      ]);
      const create = await call('POST', '/telegram', {
        as: client,
        body: { chat_id: chat, ip: `${net}:0:0:0:0:7` },
      });
      expect(create.body.status_code).toBe('ip_limit');
    });

    it('GET /target refuses missing and invalid fields (400)', async () => {
      expect((await call('GET', '/target' + query({ password: '1' }))).body).toEqual({
        status: false,
        message: '"channel" parameter must be set',
      });
      expect((await call('GET', '/target' + query({ channel: 'fax', password: '1' }))).status).toBe(
        400,
      );
      expect((await call('GET', '/target' + query({ channel: 'telegram' }))).body).toEqual({
        status: false,
        message: '"password" parameter must be set',
      });
    });

    it('answers GET /password 410: passwords are never stored readably', async () => {
      const response = await call('GET', '/password' + query({ chat_id: 1 }));
      expect(response.status).toBe(410);
      expect(response.body).toEqual({
        status: false,
        message: 'passwords are not stored readably',
      });
    });
  });

  describe('observability', () => {
    it("logs none of the API's own refusals as an unexpected error", async () => {
      const before = t.logs.length;
      expect(
        (await call('POST', '/sms', { as: null, body: { phone: '919876500000' } })).status,
      ).toBe(401);
      expect((await call('POST', '/sms', { body: { phone: 'abc' } })).status).toBe(400);
      expect((await call('GET', '/password')).status).toBe(410);
      expect(t.logs.slice(before).join('\n')).not.toContain('unexpected error');
    });

    it('counts requests in otp_api_requests_total and never logs a password, a secret or a phone', async () => {
      const phone = apiPhone();
      await call('POST', '/sms', { body: { phone: phone.digits, password: 'SeCrEt-4711' } });
      await call('GET', '/sms/check' + query({ phone: phone.digits, password: 'SeCrEt-4711' }));
      const metrics = await http(t.url, 'GET', '/metrics');
      expect(metrics.text).toMatch(
        /otp_api_requests_total\{channel="sms",action="create",result="created"\} [1-9]/,
      );
      expect(metrics.text).toMatch(
        /otp_api_requests_total\{channel="sms",action="check",result="matched"\} [1-9]/,
      );
      const logs = t.logs.join('\n');
      expect(logs).not.toContain('SeCrEt-4711');
      expect(logs).not.toContain(a.secret);
      expect(logs).not.toContain(phone.digits);
      // The audit trail has the create and the check, the phone masked.
      const events = await t.dataSource.query(
        `SELECT event, actor, target_masked, detail FROM audit_events
          WHERE client_id = $1 AND detail = 'otp-api sms' ORDER BY id DESC LIMIT 2`,
        [a.id],
      );
      expect(events).toEqual([
        expect.objectContaining({
          event: 'verified',
          actor: 'partner',
          target_masked: expect.stringContaining('******'),
        }),
        expect.objectContaining({ event: 'requested', actor: 'partner' }),
      ]);
    });
  });

  describe('retention', () => {
    it('purges passwords and guesses a day after they expired, and only those', async () => {
      const client = (await registeredClient(t)).credentials;
      const old = uniqueChat();
      await call('POST', '/telegram', { as: client, body: { chat_id: old, lifetime: 60 } });
      await call(
        'GET',
        '/target' + query({ channel: 'telegram', password: 'nope', ip: '192.0.2.1' }),
        {
          as: client,
        },
      );
      t.clock.advance(25 * 3600);
      try {
        const fresh = uniqueChat();
        await call('POST', '/telegram', { as: client, body: { chat_id: fresh } });
        const job = t.app.get(OtpRetentionJob);
        while (await job.purgeOnce()) {
          // until no table has a full batch left
        }
        const left = await t.dataSource.query(
          `SELECT target FROM otp_api_codes WHERE client_id = $1`,
          [client.id],
        );
        expect(left).toEqual([{ target: fresh }]);
        const guesses = await t.dataSource.query(
          `SELECT count(*)::int AS n FROM otp_api_guesses WHERE client_id = $1`,
          [client.id],
        );
        expect(guesses).toEqual([{ n: 0 }]);
      } finally {
        t.clock.advance(-25 * 3600);
      }
    });
  });
});

/*
 * Two instances on one database: the client's limits and the wrong-check cap are decided by
 * PostgreSQL under advisory locks, so they hold across instances. Only on PostgreSQL: the
 * embedded database lives inside one process, so the embedded project skips this part.
 */
const describeOnSharedDatabase = e2eDatabase() === 'embedded' ? describe.skip : describe;

describeOnSharedDatabase('OTP API on two instances of one database', () => {
  let first: TestApp;
  let second: TestApp;
  let client: Credentials;
  const env = {
    ADMIN_API_KEY: TEST_ADMIN_KEY,
    NOTIFY_CHANNELS: 'sms',
    OTP_MAX_SENDS_PER_PHONE_PER_HOUR: '1000',
    OTP_MAX_SENDS_PER_PREFIX_PER_HOUR: '100000',
    OTP_MAX_SENDS_PER_CLIENT_PER_HOUR: '100000',
    OTP_MAX_ATTEMPTS: '4',
    PUMPING_MIN_SENDS: '1000000',
  };

  beforeAll(async () => {
    first = await startTestApp(env);
    second = await startTestApp(env, { database: first.database });
    client = (await registeredClient(first)).credentials;
  });
  afterAll(async () => {
    await second?.close();
    await first?.close();
  });

  const on = (t: TestApp, method: string, path: string, body?: unknown) =>
    http(t.url, method, path, { headers: { authorization: basic(client) }, body });

  it('50 concurrent creates for one phone, split over both, keep the phone limit exactly', async () => {
    await on(second, 'POST', '/limit/sms', { phones: [{ minutes: 10, rate: 6 }] });
    const phone = apiPhone();
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        on(i % 2 ? first : second, 'POST', '/sms', { phone: phone.digits }),
      ),
    );
    expect(answers.filter((r) => r.status === 200)).toHaveLength(6);
    expect(answers.filter((r) => r.body.status_code === 'phone_limit')).toHaveLength(44);
  });

  it('counts wrong checks from both instances toward one cap', async () => {
    const phone = apiPhone();
    await on(first, 'POST', '/sms', { phone: phone.digits, password: '60606' });
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        on(
          i % 2 ? first : second,
          'GET',
          '/sms/check' + query({ phone: phone.digits, password: String(70000 + i) }),
        ),
      ),
    );
    const [row] = await first.dataSource.query(
      `SELECT wrong_checks FROM otp_api_codes WHERE target = $1`,
      [phone.e164],
    );
    expect(row.wrong_checks).toBe(4);
    expect(
      (await on(second, 'GET', '/sms/check' + query({ phone: phone.digits, password: '60606' })))
        .body,
    ).toEqual({
      status: false,
    });
  });
});

describe("OTP API sends count in the service's pumping guard", () => {
  let t: TestApp;
  let client: Credentials;

  beforeAll(async () => {
    t = await startTestApp({
      ADMIN_API_KEY: TEST_ADMIN_KEY,
      NOTIFY_CHANNELS: 'sms',
      PUMPING_MIN_SENDS: '3',
      PUMPING_MIN_CONVERSION: '0.5',
      BLOCKED_NUMBER_TYPES: 'none',
    });
    client = (await registeredClient(t)).credentials;
  });
  afterAll(async () => {
    await t?.close();
  });

  const send = (digits: string, password?: string) =>
    http(t.url, 'POST', '/sms', {
      headers: { authorization: basic(client) },
      body: { phone: digits, lifetime: 60, ...(password ? { password } : {}) },
    });
  const check = (digits: string, password: string) =>
    http(t.url, 'GET', '/sms/check' + query({ phone: digits, password }), {
      headers: { authorization: basic(client) },
    });

  it('pauses a country whose API codes are not verified, and not one whose codes are', async () => {
    const uk = Array.from({ length: 3 }, () => `447400${randomInt(100_000, 1_000_000)}`);
    const india = Array.from({ length: 3 }, () => apiPhone().digits);
    for (const digits of [...uk, ...india]) expect((await send(digits, '31337')).status).toBe(200);
    // Two of the three UK codes are checked right: they count as verified (once each).
    expect((await check(uk[0], '31337')).body).toEqual({ status: true });
    expect((await check(uk[0], '31337')).body).toEqual({ status: true });
    expect((await check(uk[1], '31337')).body).toEqual({ status: true });
    // Past the codes' lifetime the sends are settled.
    t.clock.advance(15 * 60);
    expect((await send(`447400${randomInt(100_000, 1_000_000)}`)).status).toBe(200);
    const paused = await send(apiPhone().digits);
    expect(paused.status).toBe(429);
    expect(paused.body).toEqual({
      status: false,
      status_code: 'rate_limited',
      message: 'codes to this country are paused; try again later',
    });
    expect(Number(paused.headers['retry-after'])).toBeGreaterThan(0);
  });
});
