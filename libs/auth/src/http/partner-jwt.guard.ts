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
import { PartnerDirectory } from '@app/partners';
import {
  extractPartnerToken,
  PartnerJwtVerifier,
  unverifiedClientId,
} from '../jwt/partner-jwt.verifier';
import type { ThirdPartyUser } from '../jwt/third-party-user';

type PartnerRequest = FastifyRequest & { partnerUser?: ThirdPartyUser };

/**
 * Lets a request in only with a valid partner JWT, and keeps the user it names (with its
 * client's registry entry, when registered) on the request.
 */
@Injectable()
export class PartnerJwtGuard implements CanActivate {
  private readonly verifier: PartnerJwtVerifier;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    clock: Clock,
    private readonly directory: PartnerDirectory,
  ) {
    const { secret, fallback } = config.partnerJwt;
    this.verifier = new PartnerJwtVerifier(fallback ? secret : undefined, clock);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    const token = extractPartnerToken(request.headers);
    const clientId = unverifiedClientId(token);
    const client = clientId === undefined ? undefined : await this.directory.find(clientId);
    const user = this.verifier.verify(token, client);
    if (client) user.client = client;
    request.partnerUser = user;
    return true;
  }
}

/** The verified partner user of the request (use with PartnerJwtGuard). */
export const PartnerUser = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const user = context.switchToHttp().getRequest<PartnerRequest>().partnerUser;
  if (!user) throw new AppError(ErrorCode.Unauthorized, {}, 'token missing');
  return user;
});
