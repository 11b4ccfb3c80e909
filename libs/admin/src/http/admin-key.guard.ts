import { createHash, timingSafeEqual } from 'node:crypto';
import { CanActivate, ExecutionContext, Inject, Injectable, Logger } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, ErrorCode } from '@app/common';

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The /admin API: off (404, as if it did not exist) without ADMIN_API_KEY; with it, only
 * requests carrying that key in `x-admin-key` get in (compared in constant time).
 */
@Injectable()
export class AdminKeyGuard implements CanActivate {
  private readonly logger = new Logger(AdminKeyGuard.name);
  private readonly keyDigest?: Buffer;

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    if (config.adminApiKey) this.keyDigest = digest(config.adminApiKey);
  }

  canActivate(context: ExecutionContext): boolean {
    if (!this.keyDigest) throw new AppError(ErrorCode.NotFound);
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const given = request.headers['x-admin-key'];
    if (typeof given !== 'string' || given.length === 0) {
      throw new AppError(ErrorCode.Unauthorized, {}, 'admin key missing');
    }
    if (!timingSafeEqual(digest(given), this.keyDigest)) {
      this.logger.warn({ ip: request.ip, route: request.routeOptions.url }, 'wrong admin key');
      throw new AppError(ErrorCode.Unauthorized, {}, 'admin key invalid');
    }
    return true;
  }
}
