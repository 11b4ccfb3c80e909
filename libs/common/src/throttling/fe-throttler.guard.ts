import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';

/**
 * The per-IP limit of the frontend API: HTTP_RATE_LIMIT_PER_MINUTE requests per client IP across
 * all /fe/ routes and the websites' sign-in flows (/gortas/; one bucket, not one per route), answered as 429 RATE_LIMITED + Retry-After.
 * Decided on the route the request matched, not its raw URL: `/%66e/…` and the absolute form
 * `POST http://host/fe/… HTTP/1.1` reach the same handlers and must be counted the same.
 */
@Injectable()
export class FeThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const route = request.routeOptions.url ?? '';
    return !route.startsWith('/fe/') && !route.startsWith('/gortas/');
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    return String((request as unknown as FastifyRequest).ip);
  }

  protected override generateKey(
    _context: ExecutionContext,
    tracker: string,
    name: string,
  ): string {
    return `${name}:ip:${tracker}`;
  }

  protected override async throwThrottlingException(
    _context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    throw new AppError(ErrorCode.RateLimited, {
      retryAfter: Math.max(1, detail.timeToBlockExpire),
    });
  }
}
