import { http } from '../support/http';
import { newPartnerUser, partnerToken } from '../support/tokens';
import { uniquePhone } from '../support/otp-client';
import { startTestApp, TestApp } from '../support/test-app';

describe('foundation: health, error shape, limits', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it('GET /health answers 200 when the database answers', async () => {
    const res = await http(t.url, 'GET', '/health');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ status: 'ok', database: 'up' });
  });

  it('every response carries a request id, and a well-formed caller id is kept', async () => {
    const generated = await http(t.url, 'GET', '/health');
    expect(generated.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    const given = await http(t.url, 'GET', '/health', {
      headers: { 'x-request-id': 'lb-abc.123' },
    });
    expect(given.headers['x-request-id']).toBe('lb-abc.123');
    const hostile = await http(t.url, 'GET', '/health', {
      headers: { 'x-request-id': 'a b<script>' },
    });
    expect(hostile.headers['x-request-id']).not.toContain('<');
  });

  it('unknown route → 404 NOT_FOUND in the error shape', async () => {
    const res = await http(t.url, 'GET', '/no/such/route');
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ statusCode: 404, error: 'NOT_FOUND', message: 'route not found' });
  });

  it('a path the router cannot read → 404 NOT_FOUND in the error shape, not echoed back', async () => {
    for (const path of ['/s2s/users/%zz/link', `/s2s/users/${'u'.repeat(1100)}/link`]) {
      const res = await http(t.url, 'GET', path);
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        statusCode: 404,
        error: 'NOT_FOUND',
        message: expect.any(String) as string,
      });
      expect(JSON.stringify(res.body)).not.toMatch(/%zz|uuuu/);
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-request-id']).toEqual(expect.any(String));
    }
  });

  it('wrong method on a known path → 405 METHOD_NOT_ALLOWED with Allow', async () => {
    const res = await http(t.url, 'DELETE', '/health');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET, HEAD');
    expect(res.body).toMatchObject({ statusCode: 405, error: 'METHOD_NOT_ALLOWED' });
  });

  it('malformed JSON → 400 VALIDATION_FAILED', async () => {
    const res = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      body: '{"phone_number":',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED', details: [] });
    expect(typeof res.body.message).toBe('string');
  });

  it('prototype-poisoning JSON is refused as VALIDATION_FAILED', async () => {
    const res = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      body: '{"__proto__":{"admin":true}}',
    });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ error: 'VALIDATION_FAILED' });
  });

  it('a body that is not JSON → 415 UNSUPPORTED_MEDIA_TYPE, or 400 VALIDATION_FAILED as JSON', async () => {
    const res = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      body: 'phone=1',
      headers: { 'content-type': 'text/plain', 'user-jwt-token': partnerToken() },
    });
    expect(res.status).toBe(415);
    expect(res.body).toMatchObject({ statusCode: 415, error: 'UNSUPPORTED_MEDIA_TYPE' });
    const declared = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      body: 'phone=1',
      headers: { 'content-type': 'application/json', 'user-jwt-token': partnerToken() },
    });
    expect(declared.status).toBe(400);
    expect(declared.body).toMatchObject({ statusCode: 400, error: 'VALIDATION_FAILED' });
  });

  it('a body over 16 KiB → 413 PAYLOAD_TOO_LARGE', async () => {
    const res = await http(t.url, 'POST', '/fe/users/auth/otp/register', {
      body: { phone_number: 'x'.repeat(17 * 1024) },
    });
    expect(res.status).toBe(413);
    expect(res.body).toEqual({
      statusCode: 413,
      error: 'PAYLOAD_TOO_LARGE',
      message: expect.any(String),
    });
  });

  it('no error body carries a stack trace or internals', async () => {
    const answers = await Promise.all([
      http(t.url, 'GET', '/nope'),
      http(t.url, 'POST', '/health', { body: '{' }),
      http(t.url, 'POST', '/health', { body: { a: 'b'.repeat(20_000) } }),
    ]);
    for (const res of answers) {
      expect(res.text).not.toMatch(/\bat .+\.(ts|js):\d+|node_modules|Error:/);
    }
  });
});

describe('foundation: database down', () => {
  it('GET /health answers 503 UNAVAILABLE once the database is gone', async () => {
    const t = await startTestApp();
    try {
      await t.dataSource.destroy();
      const res = await http(t.url, 'GET', '/health');
      expect(res.status).toBe(503);
      expect(res.body).toEqual({
        statusCode: 503,
        error: 'UNAVAILABLE',
        message: 'database unavailable',
      });
    } finally {
      await t.close().catch(() => undefined); // its data source is already destroyed
    }
  });
});

describe('foundation: CORS', () => {
  it('is off by default and allows exactly the listed origins when CORS_ORIGINS is set', async () => {
    const closed = await startTestApp();
    const open = await startTestApp({ CORS_ORIGINS: 'https://game.example.com' });
    try {
      const preflight = (url: string, origin: string) =>
        http(url, 'OPTIONS', '/fe/users/auth/otp/register', {
          headers: { origin, 'access-control-request-method': 'POST' },
        });
      expect(
        (await preflight(closed.url, 'https://game.example.com')).headers[
          'access-control-allow-origin'
        ],
      ).toBeUndefined();
      const allowed = await preflight(open.url, 'https://game.example.com');
      expect(allowed.headers['access-control-allow-origin']).toBe('https://game.example.com');
      expect(allowed.headers['access-control-allow-headers']).toContain('user-jwt-token');
      const other = await preflight(open.url, 'https://evil.example.com');
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
    } finally {
      await closed.close();
      await open.close();
    }
  }, 240_000); // two apps, each on its own embedded database
});

describe('foundation: trust boundaries', () => {
  it('sends security headers', async () => {
    const t = await startTestApp();
    try {
      const res = await http(t.url, 'GET', '/health');
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['content-security-policy']).toContain("frame-ancestors 'none'");
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['x-powered-by']).toBeUndefined();
    } finally {
      await t.close();
    }
  });

  it('believes X-Forwarded-For only from the proxies TRUST_PROXY names', async () => {
    const direct = await startTestApp();
    const proxied = await startTestApp({ TRUST_PROXY: '127.0.0.1' });
    try {
      const register = async (url: string) => {
        const user = newPartnerUser();
        await http(url, 'POST', '/fe/users/auth/otp/register', {
          headers: { 'user-jwt-token': user.token, 'x-forwarded-for': '203.0.113.7' },
          body: { phone_number: uniquePhone().national, countryCode: '+91' },
        });
        return user;
      };
      const ipOf = async (t: TestApp, userId: string) => {
        const [row] = await t.dataSource.query<Array<{ ip: string }>>(
          `SELECT ip FROM audit_events WHERE user_id = $1 AND event = 'requested'`,
          [userId],
        );
        return row.ip;
      };
      expect(await ipOf(direct, (await register(direct.url)).userId)).toBe('127.0.0.1');
      expect(await ipOf(proxied, (await register(proxied.url)).userId)).toBe('203.0.113.7');
    } finally {
      await direct.close();
      await proxied.close();
    }
  });
});
