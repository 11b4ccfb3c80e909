import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';

/**
 * Without TRUST_PROXY, `X-Forwarded-For` is ignored and the client address is the proxy's: behind
 * a load balancer every user then shares one per-IP limit. Warns once, at the first request that
 * carries the header, so an operator who forgot TRUST_PROXY finds out on day one.
 */
export function warnIgnoredForwardedFor(fastify: FastifyInstance, logger: Logger): void {
  let warned = false;
  fastify.addHook('onRequest', (request, _reply, done) => {
    if (!warned && request.headers['x-forwarded-for'] !== undefined) {
      warned = true;
      logger.warn(
        { alert: 'x_forwarded_for_ignored', from: request.ip },
        'requests carry X-Forwarded-For but TRUST_PROXY is unset: every client behind this proxy ' +
          'shares one per-IP limit; set TRUST_PROXY to the proxy addresses (docs/operations.md)',
      );
    }
    done();
  });
}
