import { DEV_PAGE_ROUTES } from '../../apps/api/src/dev-page';
import { http } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';
import { lastCodeFor, OtpClient, uniquePhone, wrongCode } from '../support/otp-client';
import { newPartnerUser } from '../support/tokens';

interface OpenApiDocument {
  paths: Record<
    string,
    Record<string, { responses: Record<string, unknown>; security?: unknown[] }>
  >;
  components: { schemas: Record<string, { properties?: Record<string, { example?: unknown }> }> };
}

/**
 * Every (method, path) Fastify serves, from its own route table. Its printout is a tree: a line's
 * depth is its indentation (4 characters a level), and its path is its parent's path followed by
 * its own segment (under `/`, the reference page of development, the segments lose their slash).
 */
function servedRoutes(t: TestApp): Array<[string, string]> {
  const printed = t.app.getHttpAdapter().getInstance().printRoutes({ commonPrefix: false });
  const routes: Array<[string, string]> = [];
  const parents: string[] = [];
  for (const match of printed.matchAll(/^([│ ]*)[├└]── (\S+) \(([^)]+)\)$/gm)) {
    const depth = match[1].length / 4;
    const full = (parents[depth - 1] ?? '') + match[2];
    parents[depth] = full;
    parents.length = depth + 1;
    for (const method of match[3].split(', ')) {
      // Fastify's `:param` is OpenAPI's `{param}`.
      const path = full.replace(/:(\w+)/g, '{$1}');
      if (method !== 'HEAD' && method !== 'OPTIONS') routes.push([method.toLowerCase(), path]);
    }
  }
  return routes;
}

describe('OpenAPI and metrics', () => {
  let t: TestApp;
  let doc: OpenApiDocument;

  beforeAll(async () => {
    t = await startTestApp();
    doc = (await http<OpenApiDocument>(t.url, 'GET', '/docs-json')).body;
  });

  afterAll(async () => {
    await t.close();
  });

  it('documents every route the app serves (Swagger UI aside)', () => {
    // The development reference page (dev-page.ts) is not part of the API, and is off in production.
    const devPage: readonly string[] = DEV_PAGE_ROUTES;
    const routes = servedRoutes(t).filter(
      ([, path]) => !path.startsWith('/docs') && !devPage.includes(path),
    );
    expect(routes.length).toBeGreaterThanOrEqual(20);
    for (const [method, path] of routes) {
      expect({ method, path, documented: Boolean(doc.paths[path]?.[method]) }).toEqual({
        method,
        path,
        documented: true,
      });
    }
  });

  it('lists the error codes of each frontend endpoint and the partner auth schemes', () => {
    const verify = doc.paths['/fe/users/auth/otp/verify'].post;
    expect(Object.keys(verify.responses).sort()).toEqual(
      ['200', '400', '401', '403', '404', '409', '410', '413', '429', '503'].sort(),
    );
    expect(JSON.stringify(verify.responses['400'])).toContain('INVALID_OTP');
    expect(JSON.stringify(verify.responses['429'])).toContain('TOO_MANY_ATTEMPTS');
    expect(verify.security).toEqual([{ partnerJwt: [] }]);
    expect(
      JSON.stringify(doc.paths['/fe/users/auth/otp/register'].post.responses['422']),
    ).toContain('PHONE_UNDELIVERABLE');
  });

  it('documents the partner-backend and operator APIs with their own credentials and errors', () => {
    const s2s = doc.paths['/s2s/users/{userId}/link'];
    for (const operation of [s2s.get, s2s.delete]) {
      // Both headers together: one requirement object.
      expect(operation.security).toEqual([{ clientId: [], clientSecret: [] }]);
      expect(Object.keys(operation.responses).sort()).toEqual(['200', '400', '401', '404', '503']);
    }
    const create = doc.paths['/admin/clients'].post;
    expect(create.security).toEqual([{ adminKey: [] }]);
    expect(Object.keys(create.responses).sort()).toEqual([
      '201',
      '400',
      '401',
      '404',
      '409',
      '503',
    ]);
    expect(JSON.stringify(create.responses['409'])).toContain('CONFLICT');
    const schemes = (doc as unknown as { components: { securitySchemes: Record<string, unknown> } })
      .components.securitySchemes;
    expect(Object.keys(schemes).sort()).toEqual([
      'adminKey',
      'clientId',
      'clientSecret',
      'otpApiBasic',
      'partnerBearer',
      'partnerJwt',
    ]);
    expect(schemes.otpApiBasic).toMatchObject({ type: 'http', scheme: 'basic' });
  });

  it('documents the OTP API for backends (OTP-API.md) with HTTP Basic and its own answers', () => {
    for (const path of ['/sms', '/call', '/email', '/telegram', '/limit/sms']) {
      const create = doc.paths[path].post;
      expect([path, create.security]).toEqual([path, [{ otpApiBasic: [] }]]);
      expect(Object.keys(create.responses)).toEqual(expect.arrayContaining(['200', '400', '401']));
    }
    for (const path of ['/sms/check', '/target', '/limit/email']) {
      expect([path, doc.paths[path].get.security]).toEqual([path, [{ otpApiBasic: [] }]]);
    }
    expect(doc.paths['/sms'].post.responses).toHaveProperty('429');
    expect(doc.paths['/telegram/webhook'].post.security).toBeUndefined();
    expect(doc.paths['/telegram/webhook'].post.responses).toHaveProperty('403');
    expect(doc.paths['/password'].get.responses).toHaveProperty('410');
  });

  it('gives every DTO property an example', () => {
    const missing = Object.entries(doc.components.schemas).flatMap(([name, schema]) =>
      Object.entries(schema.properties ?? {})
        .filter(([, property]) => property.example === undefined)
        .map(([property]) => `${name}.${property}`),
    );
    expect(missing).toEqual([]);
  });

  it('serves the Swagger UI', async () => {
    const res = await http(t.url, 'GET', '/docs');
    expect(res.status).toBe(200);
    expect(res.text).toContain('swagger-ui');
  });

  it('exposes Prometheus metrics without phone numbers or user ids in labels', async () => {
    const user = newPartnerUser();
    const phone = uniquePhone();
    const app = new OtpClient(t, user.token);
    await app.register(phone.national);
    const sent = lastCodeFor(t.messagesFile, phone.e164);
    await app.verify(phone.national, sent.authCode, wrongCode(sent.code));
    await app.verify(phone.national, sent.authCode, sent.code);

    const res = await http(t.url, 'GET', '/metrics');
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toContain('text/plain');
    const text = res.text;
    expect(text).toContain('otp_messages_total{channel="sms",status="sent"} 1');
    expect(text).toContain('otp_verifications_total{result="invalid_otp"} 1');
    expect(text).toContain('otp_verifications_total{result="linked"} 1');
    expect(text).toContain('links_total{result="linked"} 1');
    expect(text).toMatch(
      /http_request_duration_seconds_count\{route="\/fe\/users\/auth\/otp\/verify",method="POST",status="200"\} 1/,
    );
    expect(text).toMatch(/otp_outbox_backlog 0/);
    expect(text).toMatch(/otp_outbox_oldest_pending_age_seconds 0/);
    expect(text).toMatch(
      /otp_provider_request_duration_seconds_count\{driver="file",outcome="accepted"\} 1/,
    );
    expect(text).toMatch(/db_pool_connections \d+/);
    expect(text).toMatch(/nodejs_eventloop_lag_p99_seconds/);
    expect(text).not.toContain(phone.national.slice(-6));
    expect(text).not.toContain(user.userId);
    expect(text).not.toContain(user.clientId);
  });
});
