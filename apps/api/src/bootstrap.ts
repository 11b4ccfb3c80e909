import 'reflect-metadata';
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import {
  errorCodes,
  LogController,
  type FastifyError,
  type FastifyReply,
  type FastifyRequest,
} from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { AppConfig, configWarnings } from '@app/config';
import {
  answerMethodNotAllowed,
  clientErrorHandler,
  Clock,
  keepConnectionToDrainBody,
  createValidationPipe,
  MALFORMED_JSON,
  MetricsService,
  OWN_BAD_JSON_ROUTES,
  parseJsonBody,
  PinoNestLogger,
  sendError,
  toErrorResponse,
} from '@app/common';
import { AppModule } from './app.module';
import { serveDevelopmentPage } from './dev-page';
import { warnIgnoredForwardedFor } from './forwarded-for';
import { waitForHandlersOnClose } from './in-flight-handlers';
import { trustedProxies } from './trusted-proxies';
import { SHUTDOWN_GRACE_MS } from './shutdown-timing';
import { separateInternalRoutes } from './internal-port';
import { serveOpenApi } from './openapi';
import {
  API_SECURITY_HEADERS,
  applyHeaderChanges,
  securityHeaderChanges,
} from './security-headers';

const REQUEST_ID = /^[\w.:-]{1,64}$/;

/** Honour a caller's well-formed X-Request-Id so one id follows a request across services. */
function requestId(request: { headers: Record<string, string | string[] | undefined> }): string {
  const given = request.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** Builds the HTTP application (not yet listening): Fastify, logging, errors, validation. */
export async function createApp(
  config: AppConfig,
  logger: PinoLogger,
  clock?: Clock,
): Promise<NestFastifyApplication> {
  // helmet's headers, worked out once (they depend on nothing in the request).
  const securityHeaders = securityHeaderChanges(API_SECURITY_HEADERS);
  const frameworkErrorLogger = new Logger('Errors');
  const adapter = new FastifyAdapter({
    loggerInstance: logger,
    // One line per request, written below, is enough and cheaper than Fastify's two.
    logController: new LogController({ disableRequestLogging: true }),
    genReqId: requestId,
    requestIdHeader: false,
    bodyLimit: config.http.bodyLimitBytes,
    // Path parameters carry client ids (128) and user ids (256) of partners; longer ones are
    // refused by the routes' own validation with a clear error instead of a bare 404.
    routerOptions: { maxParamLength: 1024 },
    trustProxy: trustedProxies(config.http.trustProxy),
    return503OnClosing: true,
    clientErrorHandler,
    // A path the router cannot take apart (a bad %-escape, a parameter past maxParamLength):
    // the 404 of any unknown path, in the service's shape and headers, not Fastify's own body
    // that echoes the path back. No route means no hooks: the headers they set are set here
    // (such a request writes no request log line).
    frameworkErrors: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      applyHeaderChanges(reply.raw, securityHeaders);
      void reply.header('x-request-id', request.id);
      const id = String(request.id);
      sendError(reply, toErrorResponse(error, id), error, frameworkErrorLogger, id);
    },
    // Slow or silent clients must not hold connections for ever: past these, 408 and close.
    requestTimeout: config.http.requestTimeoutMs,
    keepAliveTimeout: config.http.keepAliveTimeoutMs,
    connectionTimeout: config.http.connectionTimeoutMs,
    http: {
      headersTimeout: config.http.headersTimeoutMs,
      // Node checks the request and headers timeouts on this interval (30 s by default).
      connectionsCheckingInterval: Math.ceil(config.http.headersTimeoutMs / 10),
    },
  });
  for (const warning of configWarnings(config, SHUTDOWN_GRACE_MS)) logger.warn(warning);
  const app = await NestFactory.create<NestFastifyApplication>(
    AppModule.forRoot(config, clock),
    adapter,
    {
      logger: new PinoNestLogger(logger),
      abortOnError: false,
      bodyParser: false, // JSON only, parsed below: no form or other parsers
    },
  );
  // Before any route is added, so it learns them all: a known path's wrong method answers 405.
  answerMethodNotAllowed(app.getHttpAdapter().getInstance());
  // Also before any route: shutdown waits for every handler, even one whose client has gone.
  waitForHandlersOnClose(app.getHttpAdapter().getInstance(), SHUTDOWN_GRACE_MS, (running) =>
    logger.warn({ running }, 'closing the database under handlers still running'),
  );
  if (config.http.internalPort !== undefined) {
    separateInternalRoutes(app.getHttpAdapter().getInstance());
  }
  if (config.http.trustProxy === false)
    warnIgnoredForwardedFor(app.getHttpAdapter().getInstance(), logger);
  app.useGlobalPipes(createValidationPipe());
  serveOpenApi(app);
  if (config.http.corsOrigins.length > 0) {
    // Off unless origins are listed: partner frontends call from their own pages.
    app.enableCors({
      origin: config.http.corsOrigins,
      methods: ['GET', 'POST', 'DELETE'],
      allowedHeaders: [
        'content-type',
        'user-jwt-token',
        'authorization',
        'x-request-id',
        // The app sign-in API (APP-AUTH.md).
        'x-api-key',
        'x-refresh-authorization',
        'x-device-token',
      ],
      exposedHeaders: ['retry-after', 'x-request-id'],
      // The listed origins' pages may send the sign-in flows' session cookie (`credentials:
      // 'include'`); a POST carrying it is still checked against the realm's origins.
      credentials: true,
      maxAge: 600,
    });
  }

  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (_request, reply, done) => {
    applyHeaderChanges(reply.raw, securityHeaders);
    done();
  });
  fastify.removeAllContentTypeParsers();
  fastify.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    // No body at all is no body, whatever the content type: many clients name JSON on every
    // request, a logout's too. A route that needs a body then says which fields are missing.
    if (body === '' && !OWN_BAD_JSON_ROUTES.test(request.routeOptions.url ?? '')) {
      done(null, undefined);
      return;
    }
    try {
      done(null, parseJsonBody(body as string));
    } catch (error) {
      if (OWN_BAD_JSON_ROUTES.test(request.routeOptions.url ?? '')) done(null, MALFORMED_JSON);
      else done(error as Error, undefined);
    }
  });
  // Providers post their callbacks as forms (Twilio's receipts); everything else is JSON only.
  fastify.addContentTypeParser(
    'application/x-www-form-urlencoded',
    { parseAs: 'string' },
    (request, body, done) => {
      if (!request.url.startsWith('/hooks/')) {
        done(new errorCodes.FST_ERR_CTP_INVALID_MEDIA_TYPE(request.headers['content-type']));
        return;
      }
      done(null, Object.fromEntries(new URLSearchParams(body as string)));
    },
  );
  // Fastify's own errors (body parser, body limit) reach Nest's handler and so the global filter.
  // While closing, answers ask clients to drop the connection: otherwise a keep-alive socket of a
  // request that was in flight at SIGTERM would hold the server open.
  let closing = false;
  fastify.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  fastify.addHook('onSend', async (request, reply) => {
    void reply.header('x-request-id', request.id);
    if (closing) void reply.header('connection', 'close');
    else keepConnectionToDrainBody(request, reply);
  });
  const httpDuration = app.get(MetricsService).httpDuration;
  fastify.addHook('onResponse', async (request: FastifyRequest, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    httpDuration.observe(
      { route, method: request.method, status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
    request.log.info(
      {
        method: request.method,
        route,
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  });

  // Development only: the reference page at / (README "Add phone verification to your page").
  serveDevelopmentPage(app, config, logger);

  await app.init();
  return app;
}
