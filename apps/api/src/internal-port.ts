import { createServer, type Server, type Socket } from 'node:net';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import { AppError, ErrorCode } from '@app/common';

/** Marks the sockets accepted on INTERNAL_PORT. */
const INTERNAL = Symbol('otp-link internal port');
type MarkedSocket = Socket & { [INTERNAL]?: true };

/** /metrics, /docs (the Swagger UI and its files) and /docs-json. */
const INTERNAL_PATH = /^\/(?:metrics|docs)(?:[/?-]|$)/;
const HEALTH_PATH = /^\/health(?:[/?]|$)/;

/**
 * With INTERNAL_PORT set: /metrics and /docs answer only on the internal port (404 NOT_FOUND on
 * PORT, which faces the internet), and the internal port serves nothing else but /health. Call
 * while building the app.
 */
export function separateInternalRoutes(fastify: FastifyInstance): void {
  fastify.addHook('onRequest', (request, _reply, done) => {
    const internal = (request.raw.socket as MarkedSocket)[INTERNAL] === true;
    const internalPath = INTERNAL_PATH.test(request.url);
    const allowed = internal ? internalPath || HEALTH_PATH.test(request.url) : !internalPath;
    done(allowed ? undefined : new AppError(ErrorCode.NotFound));
  });
}

/**
 * Opens INTERNAL_PORT: its connections are handed to the app's own HTTP server, marked, so one
 * app serves both ports. Close the returned server before the app.
 */
export async function listenInternal(
  app: NestFastifyApplication,
  port: number,
  host: string,
): Promise<Server> {
  const http = app.getHttpServer();
  const server = createServer((socket: MarkedSocket) => {
    socket[INTERNAL] = true;
    http.emit('connection', socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
