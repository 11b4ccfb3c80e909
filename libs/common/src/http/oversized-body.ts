import type { FastifyReply, FastifyRequest } from 'fastify';

/** Declared bodies up to this size are read and discarded after their 413; larger ones are cut. */
export const OVERSIZED_BODY_DRAIN_LIMIT_BYTES = 32 * 1024 * 1024;

/**
 * Fastify answers a body over the limit at once, unread, and closes the connection. A client
 * still sending it (fetch and browsers do not wait for `100 Continue`) then writes into a closed
 * socket and never sees the 413. Like nginx's lingering close, keep the connection instead, so
 * Node reads and discards the rest of the body (bounded by HTTP_REQUEST_TIMEOUT_MS) and the
 * answer arrives; past a declared size, or with no declared size, close as before.
 */
export function keepConnectionToDrainBody(request: FastifyRequest, reply: FastifyReply): void {
  if (reply.statusCode !== 413 || request.raw.complete) return;
  const declared = Number(request.headers['content-length']);
  if (declared > 0 && declared <= OVERSIZED_BODY_DRAIN_LIMIT_BYTES) {
    // Over Fastify's `close`, what the client's request allows (Node's choice; removing the
    // header would stop Node from naming one at all since Fastify 5.12). A set header skips
    // Node's maxRequestsPerSocket check: the server sets no such limit.
    void reply.header('connection', reply.raw.shouldKeepAlive ? 'keep-alive' : 'close');
  }
}
