import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, ErrorCode } from '@app/common';
import { AppKeys, RegisteredClient } from '@app/partners';

/** What the app-key guard leaves on the request for the handlers and the token guard. */
export interface AppRequest extends FastifyRequest {
  appClient?: RegisteredClient;
  appKeyId?: string;
}

const WINDOW_MS = 60_000;

/**
 * The `x-api-key` of the app sign-in API: an active app key of an active client (else 401
 * INVALID_API_KEY, whatever the reason), used from one of the client's allowed origins when the
 * request names one (else 403 ORIGIN_NOT_ALLOWED), within APP_RATE_LIMIT_PER_MINUTE per key
 * (else 429 RATE_LIMITED + Retry-After; counted in the throttler's storage, shared by every
 * instance when REDIS_URL is set).
 */
@Injectable()
export class AppKeyGuard implements CanActivate {
  private readonly limit: number;

  constructor(
    private readonly appKeys: AppKeys,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.limit = config.appAuth.rateLimitPerMinute;
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<AppRequest>();
    const found = await this.appKeys.client(request.headers['x-api-key']);
    if (!found || found.client.status !== 'active') throw new AppError(ErrorCode.InvalidApiKey);
    const origin = request.headers.origin;
    const allowed = found.client.allowedOrigins;
    if (origin !== undefined && allowed && allowed.length > 0 && !allowed.includes(origin)) {
      throw new AppError(ErrorCode.OriginNotAllowed);
    }
    const hits = await this.storage.increment(
      `app:key:${found.key.keyId}`,
      WINDOW_MS,
      this.limit,
      0,
      'app',
    );
    if (hits.isBlocked) {
      throw new AppError(ErrorCode.RateLimited, {
        retryAfter: Math.max(1, hits.timeToBlockExpire),
      });
    }
    request.appClient = found.client;
    request.appKeyId = found.key.keyId;
    return true;
  }
}
