import {
  CanActivate,
  createParamDecorator,
  ExecutionContext,
  Inject,
  Injectable,
} from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, Clock, ErrorCode } from '@app/common';
import { extractPartnerToken, PartnerJwtVerifier } from '../jwt/partner-jwt.verifier';
import type { ThirdPartyUser } from '../jwt/third-party-user';

type PartnerRequest = FastifyRequest & { partnerUser?: ThirdPartyUser };

/** Lets a request in only with a valid partner JWT, and keeps the user it names on the request. */
@Injectable()
export class PartnerJwtGuard implements CanActivate {
  private readonly verifier: PartnerJwtVerifier;
  private readonly fallbackEnabled: boolean;

  constructor(@Inject(APP_CONFIG) config: AppConfig, clock: Clock) {
    this.verifier = new PartnerJwtVerifier(config.partnerJwt.secret, clock);
    this.fallbackEnabled = config.partnerJwt.fallback;
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    const token = extractPartnerToken(request.headers);
    // Without a partner registry, PARTNER_JWT_SECRET is the only key; turning the fallback off
    // leaves no key to trust.
    if (!this.fallbackEnabled) {
      throw new AppError(ErrorCode.Unauthorized, {}, 'token client is not registered');
    }
    request.partnerUser = this.verifier.verify(token);
    return true;
  }
}

/** The verified partner user of the request (use with PartnerJwtGuard). */
export const PartnerUser = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const user = context.switchToHttp().getRequest<PartnerRequest>().partnerUser;
  if (!user) throw new AppError(ErrorCode.Unauthorized, {}, 'token missing');
  return user;
});
