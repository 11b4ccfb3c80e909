import Fastify from 'fastify';
import { waitForHandlersOnClose } from './in-flight-handlers';

describe('waitForHandlersOnClose', () => {
  it('holds close until a handler whose client hung up has finished', async () => {
    const fastify = Fastify();
    waitForHandlersOnClose(fastify, 10_000, () => undefined);
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
    waitForHandlersOnClose(fastify, 10_000, () => undefined);
    fastify.get('/', async () => ({ ok: true }));
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(url)).status).toBe(200);
    await fastify.close();
  });

  it('counts a handler that throws as finished', async () => {
    const fastify = Fastify();
    waitForHandlersOnClose(fastify, 10_000, () => undefined);
    fastify.get('/', () => {
      throw new Error('boom');
    });
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    expect((await fetch(url)).status).toBe(500);
    await fastify.close();
  });

  it('stops waiting once the grace has passed, and says how many were left', async () => {
    const fastify = Fastify();
    const left: number[] = [];
    waitForHandlersOnClose(fastify, 50, (running) => left.push(running));
    let entered!: () => void;
    const handlerEntered = new Promise<void>((resolve) => (entered = resolve));
    fastify.get('/stuck', async () => {
      entered();
      await new Promise(() => undefined); // a provider that never answers
    });
    const url = await fastify.listen({ port: 0, host: '127.0.0.1' });
    const client = new AbortController();
    const abandoned = fetch(`${url}/stuck`, { signal: client.signal }).catch(() => 'aborted');
    await handlerEntered;
    client.abort();
    await abandoned;

    await fastify.close();
    expect(left).toEqual([1]);
  });
});
