import type { FastifyInstance, RouteHandlerMethod } from 'fastify';

/**
 * Makes closing the server wait for the route handlers still running. A handler goes on after its
 * client hangs up, and then no connection holds the HTTP server open: without this, shutdown
 * closed the database under it, so a code the provider had taken was never recorded as sent, and
 * the poller sent it a second time after its lease. Fastify runs its own close of the HTTP server
 * (no new requests) before this `onClose` hook; the database closes after both.
 *
 * The wait ends `graceMs` after closing began, as open connections are cut then: a handler stuck
 * on a provider must not hold the shutdown past its deadline. `gaveUp` hears how many were left.
 * Counted are the routes' handlers (Nest's are all async); the not-found and error handlers are
 * synchronous and not routes.
 */
export function waitForHandlersOnClose(
  fastify: FastifyInstance,
  graceMs: number,
  gaveUp: (running: number) => void,
): void {
  let running = 0;
  let whenIdle: (() => void) | undefined;
  let closingSince = 0;
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
      if (typeof (result as PromiseLike<unknown> | undefined)?.then === 'function') {
        return Promise.resolve(result).finally(finished);
      }
      finished();
      return result;
    };
  });
  fastify.addHook('preClose', (done) => {
    closingSince = Date.now();
    done();
  });
  fastify.addHook('onClose', async () => {
    if (running === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => (whenIdle = () => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, closingSince + graceMs - Date.now()));
    });
    const allFinished = await Promise.race([idle, late]);
    clearTimeout(timer);
    if (!allFinished) gaveUp(running);
  });
}
