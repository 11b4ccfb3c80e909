import Fastify, { type FastifyInstance } from 'fastify';
import { waitForHandlersOnClose } from './in-flight-handlers';

/** A handler that never finishes (a provider that never answers), whose client has hung up. */
async function abandonStuckHandler(fastify: FastifyInstance): Promise<void> {
  let entered!: () => void;
  const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
  fastify.get('/stuck', async () => {
    entered();
    await new Promise(() => undefined);
  });
  const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
  const client = new AbortController();
  const abandoned = fetch(`${url}/stuck`, { signal: client.signal }).catch(() => 'aborted');
  await handlerEntered;
  client.abort();
  await abandoned;
}

describe('waitForHandlersOnClose', () => {
  it('holds close until a handler whose client hung up has finished', async () => {
    const fastify = Fastify();
    waitForHandlersOnClose(
      fastify,
      (closingSince) => closingSince + 10_000,
      () => undefined,
    );
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    let release!: () => void;
    const work = new Promise<void>((resolve) => (release = resolve));
    fastify.get('/slow', async () => {
      entered();
      await work;
      return { done: true };
    });
    fastify.get('/sync', (_request, reply) => reply.send({ sync: true }));
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });

    // A synchronous handler is counted out at once.
    expect(await (await fetch(`${url}/sync`)).json()).toEqual({ sync: true });
    const client = new AbortController();
    const abandoned = fetch(`${url}/slow`, { signal: client.signal }).catch(() => 'aborted');
    await handlerEntered;
    client.abort();
    expect(await abandoned).toBe('aborted');

    let closed = false;
    const closing = fastify.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(closed).toBe(false);
    release();
    await closing;
    expect(closed).toBe(true);
  });

  it('closes at once when no handler is running', async () => {
    const fastify = Fastify();
    waitForHandlersOnClose(
      fastify,
      (closingSince) => closingSince + 10_000,
      () => undefined,
    );
    fastify.get('/', async () => ({ ok: true }));
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(url)).status).toBe(200);
    await fastify.close();
  });

  it('counts a handler that throws as finished', async () => {
    const fastify = Fastify();
    waitForHandlersOnClose(
      fastify,
      (closingSince) => closingSince + 10_000,
      () => undefined,
    );
    fastify.get('/', () => {
      throw new Error('boom');
    });
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(url)).status).toBe(500);
    await fastify.close();
  });

  it('counts the grace from the moment it is given, such as the signal before the close', async () => {
    const fastify = Fastify();
    const left: number[] = [];
    const signalledAt = Date.now();
    const closingTimes: number[] = [];
    waitForHandlersOnClose(
      fastify,
      (closingSince) => {
        closingTimes.push(closingSince);
        return signalledAt; // the grace ended before Fastify began closing
      },
      (running) => left.push(running),
    );
    await abandonStuckHandler(fastify);

    await fastify.close(); // no wait: the handler is never finished
    expect(left).toEqual([1]);
    expect(closingTimes).toHaveLength(1);
    expect(closingTimes[0]).toBeGreaterThanOrEqual(signalledAt);
  });

  it('stops waiting once the grace has passed, and says how many were left', async () => {
    const fastify = Fastify();
    const left: number[] = [];
    waitForHandlersOnClose(
      fastify,
      (closingSince) => closingSince + 50,
      (running) => left.push(running),
    );
    await abandonStuckHandler(fastify);

    await fastify.close();
    expect(left).toEqual([1]);
  });
});
