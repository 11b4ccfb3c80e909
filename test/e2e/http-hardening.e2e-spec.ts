import { http } from '../support/http';
import {
  openSocket,
  parseAnswer,
  rawRequest,
  readUntilClosed,
  requestText,
} from '../support/raw-http';
import { newPartnerUser } from '../support/tokens';
import { startTestApp, TestApp } from '../support/test-app';

/** What a hostile review of the running service found at the HTTP layer (issue 13). */

/** The contract's error shape, whatever the status. */
function expectContractError(status: number, body: unknown, expectedStatus: number): void {
  expect(status).toBe(expectedStatus);
  expect(body).toEqual(
    expect.objectContaining({
      statusCode: expectedStatus,
      error: expect.stringMatching(/^[A-Z_]+$/),
      message: expect.any(String),
    }),
  );
}

describe('the per-IP limit is decided on the matched route, not the raw URL', () => {
  let t: TestApp;
  let routes: Array<{ method: string; path: string }>;

  beforeAll(async () => {
    // One request per minute per address; TRUST_PROXY=1 (loopback is the one proxy) lets each
    // case below come from its own address, so every case has a fresh bucket.
    t = await startTestApp({ HTTP_RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: '1' });
    const document = await http<{ paths: Record<string, Record<string, unknown>> }>(
      t.url,
      'GET',
      '/docs-json',
    );
    routes = Object.entries(document.body.paths)
      .filter(([path]) => path.startsWith('/fe/'))
      .flatMap(([path, operations]) =>
        Object.keys(operations).map((method) => ({
          method: method.toUpperCase(),
          path: path.replace(/\{[^}]+\}/g, 'x'),
        })),
      );
  });

  afterAll(async () => {
    await t.close();
  });

  let nextAddress = 1;
  const freshAddress = () => `198.51.100.${nextAddress++}`;

  const requestForms = {
    'percent-encoded path': (path: string) => `/%66${path.slice(2)}`,
    'absolute-form request target': (path: string) => `http://a${path}`,
  };

  it('lists every /fe/ route of the contract', () => {
    expect(routes.map((route) => `${route.method} ${route.path}`).sort()).toEqual([
      'DELETE /fe/users/account/linked-mobile-number',
      'GET /fe/users/account/linked-mobile-number',
      'GET /fe/users/auth/otp/config',
      'POST /fe/users/auth/otp/register',
      'POST /fe/users/auth/otp/resend',
      'POST /fe/users/auth/otp/verify',
    ]);
  });

  for (const [form, target] of Object.entries(requestForms)) {
    it(`counts the ${form} of every /fe/ route in the address's bucket`, async () => {
      const token = newPartnerUser().token;
      for (const route of routes) {
        const address = freshAddress();
        const body = route.method === 'POST' ? '{}' : undefined;
        const headers = { 'x-forwarded-for': address, 'user-jwt-token': token };
        const first = await rawRequest(
          t.url,
          requestText(route.method, target(route.path), headers, body),
        );
        // The request reached a /fe/ handler (not "route not found"): a form clients can use.
        expect([route.path, JSON.parse(first.body).error]).not.toEqual([route.path, 'NOT_FOUND']);
        const next = await http(t.url, 'GET', '/fe/users/auth/otp/config', {
          headers: { 'x-forwarded-for': address },
        });
        expect([route.method, route.path, next.status]).toEqual([route.method, route.path, 429]);
      }
    });
  }
});

describe('TRUST_PROXY with a hop count believes only the proxy-appended address', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_RATE_LIMIT_PER_MINUTE: '1', TRUST_PROXY: '1' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('a client-forged leftmost X-Forwarded-For address does not buy a fresh bucket', async () => {
    const config = (forwardedFor: string) =>
      http(t.url, 'GET', '/fe/users/auth/otp/config', {
        headers: { 'x-forwarded-for': forwardedFor },
      });
    expect((await config('203.0.113.9')).status).toBe(200);
    // The proxy appended the client's real address (203.0.113.9) after whatever it sent.
    expect((await config('10.9.9.9, 203.0.113.9')).status).toBe(429);
    expect((await config('10.9.9.10, 203.0.113.9')).status).toBe(429);
  });
});

describe('errors raised by the static file sender of /docs', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  it.each(['/docs/..', '/docs/%00', '/docs/%2e%2e/%2e%2e/package.json', '/docs/x%00.js'])(
    '%s answers a 4xx in the contract shape, logging no stack',
    async (path) => {
      const before = t.logs.length;
      const answer = await rawRequest(t.url, requestText('GET', path));
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
      expectContractError(answer.status, JSON.parse(answer.body), answer.status);
      expect(answer.body).not.toContain('package.json');
      expect(t.logs.slice(before).join('\n')).not.toContain('unexpected error');
    },
  );
});

describe('oversized bodies: fetch and browsers get the 413, not a reset', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });

  afterAll(async () => {
    await t.close();
  });

  const sizes = { '20 KiB': 20 * 1024, '3 MB': 3_000_000, '20 MB': 20_000_000 };

  for (const [label, size] of Object.entries(sizes)) {
    it(`a ${label} JSON body sent with fetch answers 413 PAYLOAD_TOO_LARGE`, async () => {
      const body = JSON.stringify({ phone_number: 'x'.repeat(size) });
      const response = await fetch(`${t.url}/fe/users/auth/otp/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-jwt-token': newPartnerUser().token },
        body,
      });
      expectContractError(response.status, await response.json(), 413);
      // The server reads the rest instead of closing mid-upload, which a sender that does not
      // wait for 100 Continue would meet as EPIPE (seen with 20 MB before this was kept open).
      expect(response.headers.get('connection')).toBe('keep-alive');
      // …and the server still serves others.
      expect((await http(t.url, 'GET', '/health')).status).toBe(200);
    });
  }
});

describe('slow clients', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ HTTP_REQUEST_TIMEOUT_MS: '1000', HTTP_HEADERS_TIMEOUT_MS: '1000' });
  });

  afterAll(async () => {
    await t.close();
  });

  it('a body that never finishes is answered 408 and its connection closed', async () => {
    const socket = await openSocket(t.url);
    const closed = readUntilClosed(socket);
    socket.write(
      requestText('POST', '/fe/users/auth/otp/register', {
        'content-type': 'application/json',
        'content-length': '100',
      }) + '{"a":',
    );
    const answer = parseAnswer(await closed);
    expectContractError(answer.status, JSON.parse(answer.body), 408);
  });

  it('headers that never finish are answered 408 and the connection closed', async () => {
    const socket = await openSocket(t.url);
    const closed = readUntilClosed(socket);
    socket.write('GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ');
    const answer = parseAnswer(await closed);
    expectContractError(answer.status, JSON.parse(answer.body), 408);
  });
});
