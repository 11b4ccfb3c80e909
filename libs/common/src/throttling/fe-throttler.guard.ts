import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors/app-error';
import { ErrorCode } from '../errors/error-code';
import { limitedIp } from '../http/ip-address';

const LIMITED_PREFIXES = ['/fe/', '/gortas/', '/api/v1/'];

/**
 * The per-IP limit of the APIs that browsers and apps call: HTTP_RATE_LIMIT_PER_MINUTE requests
 * per client IP across all /fe/ routes, the websites' sign-in flows (/gortas/) and the app API
 * (/api/v1/, whose key is public: APP-AUTH.md limits it per IP too, and a global guard counts the
 * IP before the key's own limit, so one address cannot spend a whole app's budget); one bucket,
 * not one per route, answered as 429 RATE_LIMITED + Retry-After (in the route's envelope).
 * Decided on the route the request matched, not its raw URL: `/%66e/…` and the absolute form
 * `POST http://host/fe/… HTTP/1.1` reach the same handlers and must be counted the same.
 */
@Injectable()
export class FeThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const route = request.routeOptions.url ?? '';
    return !LIMITED_PREFIXES.some((prefix) => route.startsWith(prefix));
  }

  /** The address as the OTP API's IP limits key it: one key per IPv4 address or IPv6 /64. */
  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const ip = String((request as unknown as FastifyRequest).ip);
    return limitedIp(ip)?.key ?? ip;
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
