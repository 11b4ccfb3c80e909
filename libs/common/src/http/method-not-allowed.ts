import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

interface RoutePattern {
  pattern: RegExp;
  methods: Set<string>;
}

/** `/s2s/users/:userId/link` → a regular expression matching concrete paths of that route. */
function toPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment.startsWith(':') ? '[^/]+' : segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'),
    )
    .join('/');
  return new RegExp(`^${source}/?$`);
}

/**
 * Answers 405 METHOD_NOT_ALLOWED, with an `Allow` header, when a request's path is a route of
 * the app but its method is not (Fastify alone answers 404 NOT_FOUND). Call before the routes
 * are registered (before `app.init()`): it learns them as they are added. Wildcard routes (the
 * Swagger UI's files, CORS preflight) are left to Fastify.
 */
export function answerMethodNotAllowed(fastify: FastifyInstance): void {
  const routes = new Map<string, RoutePattern>();
  fastify.addHook('onRoute', (route) => {
    if (route.url.includes('*')) return;
    const methods = [route.method].flat().filter((method) => method !== 'OPTIONS');
    const known = routes.get(route.url) ?? { pattern: toPattern(route.url), methods: new Set() };
    for (const method of methods) known.methods.add(method);
    routes.set(route.url, known);
  });
  fastify.addHook('onRequest', (request, reply, done) => {
    if (!request.is404) return done();
    const path = request.url.split('?')[0];
    const allowed = new Set<string>();
    for (const route of routes.values()) {
      if (route.pattern.test(path)) for (const method of route.methods) allowed.add(method);
    }
    if (allowed.size === 0 || allowed.has(request.method)) return done();
    const allow = [...allowed].sort().join(', ');
    void reply.header('allow', allow);
    done(
      new AppError(
        ErrorCode.MethodNotAllowed,
        {},
        `${request.method} is not allowed on this path; allowed: ${allow}`,
      ),
    );
  });
}
