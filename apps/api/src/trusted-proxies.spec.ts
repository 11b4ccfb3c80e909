import Fastify from 'fastify';
import { trustedProxies } from './trusted-proxies';

/** The client address Fastify sees for a request from loopback with this X-Forwarded-For. */
async function clientIp(trust: boolean | number | string[], forwardedFor: string) {
  const fastify = Fastify({ trustProxy: trustedProxies(trust) });
  fastify.get('/', (request) => ({ ip: request.ip }));
  const response = await fastify.inject({ url: '/', headers: { 'x-forwarded-for': forwardedFor } });
  await fastify.close();
  return response.json<{ ip: string }>().ip;
}

describe('trustedProxies', () => {
  it('believes as many forwarded addresses as the hop count, from the proxy nearest', async () => {
    // The socket's peer (loopback) is hop 0; each proxy appends the address it saw.
    expect(await clientIp(1, '203.0.113.7, 198.51.100.2')).toBe('198.51.100.2');
    expect(await clientIp(2, '203.0.113.7, 198.51.100.2')).toBe('203.0.113.7');
    expect(await clientIp(0, '203.0.113.7')).toBe('127.0.0.1');
  });

  it('passes addresses, true and false through', async () => {
    expect(await clientIp(['127.0.0.1'], '203.0.113.7, 198.51.100.2')).toBe('198.51.100.2');
    expect(await clientIp(false, '203.0.113.7')).toBe('127.0.0.1');
    expect(await clientIp(true, '203.0.113.7, 198.51.100.2')).toBe('203.0.113.7');
  });
});
