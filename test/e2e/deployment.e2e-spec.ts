import type { Server } from 'node:net';
import { listenInternal } from '../../apps/api/src/internal-port';
import { http } from '../support/http';
import { startTestApp, TestApp } from '../support/test-app';

/** docs/operations.md's production checklist, where the service itself can hold it. */
describe('production checklist: /metrics and /docs on INTERNAL_PORT', () => {
  let t: TestApp;
  let internal: Server;
  let internalUrl: string;

  beforeAll(async () => {
    t = await startTestApp({ INTERNAL_PORT: '0' });
    internal = await listenInternal(t.app, 0, '127.0.0.1');
    const address = internal.address();
    if (!address || typeof address === 'string') throw new Error('internal port not open');
    internalUrl = `http://127.0.0.1:${address.port}`;
  });

  afterAll(async () => {
    internal.close();
    await t.close();
  });

  it('keeps /metrics and /docs off the public port', async () => {
    for (const path of ['/metrics', '/docs', '/docs-json', '/docs/swagger-ui.css']) {
      const res = await http(t.url, 'GET', path);
      expect({ path, status: res.status, error: res.body.error }).toEqual({
        path,
        status: 404,
        error: 'NOT_FOUND',
      });
    }
    expect((await http(t.url, 'GET', '/fe/users/auth/otp/config')).status).toBe(200);
    expect((await http(t.url, 'GET', '/health')).status).toBe(200);
  });

  it('serves them, and /health, on the internal port, and nothing else', async () => {
    const metrics = await http(internalUrl, 'GET', '/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.text).toContain('# TYPE');
    expect((await http(internalUrl, 'GET', '/docs-json')).body).toHaveProperty('openapi');
    expect((await http(internalUrl, 'GET', '/docs')).status).toBe(200);
    expect((await http(internalUrl, 'GET', '/health')).status).toBe(200);
    const api = await http(internalUrl, 'GET', '/fe/users/auth/otp/config');
    expect(api.status).toBe(404);
  });
});

describe('production checklist: X-Forwarded-For without TRUST_PROXY', () => {
  const warnings = (t: TestApp) =>
    t.logs.filter((line) => line.includes('"alert":"x_forwarded_for_ignored"'));

  it('warns once when requests carry X-Forwarded-For and TRUST_PROXY is unset', async () => {
    const t = await startTestApp();
    try {
      await http(t.url, 'GET', '/health');
      expect(warnings(t)).toEqual([]);
      for (let i = 0; i < 3; i++) {
        await http(t.url, 'GET', '/health', { headers: { 'x-forwarded-for': '203.0.113.7' } });
      }
      expect(warnings(t)).toHaveLength(1);
      expect(warnings(t)[0]).toContain('set TRUST_PROXY');
      expect(warnings(t)[0]).not.toContain('203.0.113.7');
    } finally {
      await t.close();
    }
  });

  it('says nothing when TRUST_PROXY is set', async () => {
    const t = await startTestApp({ TRUST_PROXY: '127.0.0.1' });
    try {
      await http(t.url, 'GET', '/health', { headers: { 'x-forwarded-for': '203.0.113.7' } });
      expect(warnings(t)).toEqual([]);
    } finally {
      await t.close();
    }
  });
});
