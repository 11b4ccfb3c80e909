import { appendFileSync, writeFileSync } from 'node:fs';
import { DEV_PAGE_ROUTES, readInbox } from '../../apps/api/src/dev-page';
import { http } from '../support/http';
import { lastCodeFor, OtpClient, uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

/** The development reference page at / (README "Add phone verification to your page"). */
describe('development reference page', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('serves the page with the element, under the same content policy as the API', async () => {
    const page = await fetch(`${t.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const policy = page.headers.get('content-security-policy');
    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("frame-ancestors 'none'");
    expect(policy).not.toContain('upgrade-insecure-requests');
    const html = await page.text();
    expect(html).toContain('<otp-link-verify');
    expect(html).toContain('<script type="module" src="/dev/page.js"></script>');
    // No inline script: the policy would block it.
    expect(html.match(/<script/g)).toHaveLength(1);
  });

  it('bundles the element and the page script from the packages on request', async () => {
    const script = await fetch(`${t.url}/dev/page.js`);
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const code = await script.text();
    expect(code).toContain('otp-link-verify');
    expect(code).toContain('one-time-code');
    // Bundled: nothing left for the browser to resolve.
    expect(code).not.toMatch(/^import .* from ['"]/m);
  });

  it('mints a fresh development user per token, which the API accepts', async () => {
    const first = await http<{ token: string; userId: string; clientId: string }>(
      t.url,
      'POST',
      '/dev/token',
    );
    const second = await http<{ token: string; userId: string }>(t.url, 'POST', '/dev/token');
    expect(first.status).toBe(200);
    expect(first.body.clientId).toBe('dev-studio');
    expect(first.body.userId).toMatch(/^dev-[0-9a-f]{8}$/);
    expect(second.body.userId).not.toBe(first.body.userId);
    const linked = await http(t.url, 'GET', '/fe/users/account/linked-mobile-number', {
      headers: { 'user-jwt-token': first.body.token },
    });
    expect(linked.body.error).toBe('RECORD_NOT_FOUND');
  });

  it('ignores what a token request sends, and refuses an oversized or non-JSON one', async () => {
    const hostile = await http(t.url, 'POST', '/dev/token', {
      body: { user: "'; DROP TABLE users; --", clientId: '<script>', hours: 1e9 },
    });
    expect(hostile.status).toBe(200);
    expect(hostile.body.userId).toMatch(/^dev-[0-9a-f]{8}$/);
    expect(hostile.body.clientId).toBe('dev-studio');
    const oversized = await http(t.url, 'POST', '/dev/token', {
      body: { filler: 'x'.repeat(64 * 1024) },
    });
    expect(oversized.status).toBe(413);
    const form = await http(t.url, 'POST', '/dev/token', {
      body: 'a=b',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    const broken = await http(t.url, 'POST', '/dev/token', { body: '{"user":' });
    expect({ status: broken.status, error: broken.body.error }).toEqual({
      status: 400,
      error: 'VALIDATION_FAILED',
    });
  });

  it('shows the newest messages of the file driver in the inbox, newest first', async () => {
    const { token } = (await http<{ token: string }>(t.url, 'POST', '/dev/token')).body;
    const phone = uniquePhone();
    await new OtpClient(t, token).register(phone.national, '+91');
    const inbox = await http<{ driver: string; file: boolean; messages: Array<{ to: string }> }>(
      t.url,
      'GET',
      '/dev/inbox',
    );
    expect(inbox.body).toMatchObject({ driver: 'file', file: true });
    expect(inbox.body.messages[0]).toEqual({
      channel: 'sms',
      to: phone.e164,
      body: expect.stringContaining(lastCodeFor(t.messagesFile, phone.e164).code),
      code: lastCodeFor(t.messagesFile, phone.e164).code,
      at: expect.any(String),
    });
  });

  it('reads only the end of a large file and skips lines that are not messages', async () => {
    const file = `${t.messagesFile}.big`;
    writeFileSync(file, `${'{"filler":"'.padEnd(200_000, 'x')}"}\n`);
    for (let i = 0; i < 12; i++) {
      appendFileSync(file, `${JSON.stringify({ channel: 'sms', to: `+1${i}`, body: `m${i}` })}\n`);
    }
    appendFileSync(file, 'not json\n{"to":5}\n{"channel":"sms","to":"+1x","bo');
    const messages = await readInbox(file);
    expect(messages.map((m) => m.to)).toEqual([
      '+111',
      '+110',
      '+19',
      '+18',
      '+17',
      '+16',
      '+15',
      '+14',
    ]);
    expect(await readInbox(`${file}.missing`)).toEqual([]);
  });

  it('has none of its routes in production', async () => {
    const production = await startTestApp({
      NODE_ENV: 'production',
      PARTNER_JWT_SECRET: 'p'.repeat(40),
      OTP_SECRET: 'o'.repeat(40),
      NOTIFY_DRIVER: 'twilio',
      TWILIO_ACCOUNT_SID: 'AC00000000000000000000000000000000',
      TWILIO_AUTH_TOKEN: 'token',
      TWILIO_FROM: '+15005550006',
      TWILIO_API_URL: 'http://127.0.0.1:9',
    });
    try {
      for (const path of DEV_PAGE_ROUTES) {
        const method = path === '/dev/token' ? 'POST' : 'GET';
        const answer = await http(production.url, method, path);
        expect({ path, status: answer.status, error: answer.body.error }).toEqual({
          path,
          status: 404,
          error: 'NOT_FOUND',
        });
      }
    } finally {
      await production.close();
    }
  });
});
