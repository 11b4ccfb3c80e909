import type { FastifyInstance, RouteHandlerMethod } from 'fastify';

/**
 * Makes closing the server wait for the route handlers still running. A handler goes on after its
 * client hangs up, and then no connection holds the HTTP server open: without this, shutdown
 * closed the database under it, so a code the provider had taken was never recorded as sent, and
 * the poller sent it a second time after its lease. Fastify runs its own close of the HTTP server
 * (no new requests) before this `onClose` hook; the database closes after both.
 */
export function waitForHandlersOnClose(fastify: FastifyInstance): void {
  let running = 0;
  let whenIdle: (() => void) | undefined;
  const finished = () => {
    running -= 1;
    if (running === 0) whenIdle?.();
  };
  fastify.addHook('onRoute', (route) => {
    const handler = route.handler as (...args: Parameters<RouteHandlerMethod>) => unknown;
    route.handler = function (this: FastifyInstance, request, reply) {
      running += 1;
      let result: unknown;
      try {
        result = handler.call(this, request, reply);
      } catch (error) {
        finished();
        throw error;
      }
      if (result instanceof Promise) return result.finally(finished);
      finished();
      return result;
    };
  });
  fastify.addHook('onClose', async () => {
    if (running > 0) await new Promise<void>((resolve) => (whenIdle = resolve));
  });
}
