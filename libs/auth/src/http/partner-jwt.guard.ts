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
import { PartnerDirectory, type RegisteredClient } from '@app/partners';
import {
  extractPartnerToken,
  PartnerJwtVerifier,
  unverifiedClientId,
} from '../jwt/partner-jwt.verifier';
import type { ThirdPartyUser } from '../jwt/third-party-user';
import { VerifiedTokenCache } from '../jwt/verified-token-cache';

type PartnerRequest = FastifyRequest & { partnerUser?: ThirdPartyUser };

/**
 * Lets a request in only with a valid partner JWT, and keeps the user it names (with its
 * client's registry entry, when registered) on the request. A token seen before is not verified
 * again while its client's entry is unchanged ({@link VerifiedTokenCache}).
 */
@Injectable()
export class PartnerJwtGuard implements CanActivate {
  private readonly verifier: PartnerJwtVerifier;
  private readonly verified = new VerifiedTokenCache();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly clock: Clock,
    private readonly directory: PartnerDirectory,
  ) {
    const { secret, fallback } = config.partnerJwt;
    this.verifier = new PartnerJwtVerifier(fallback ? secret : undefined, clock);
  }

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    request.partnerUser = await this.authenticate(extractPartnerToken(request.headers));
    return true;
  }

  private async authenticate(token: string | undefined): Promise<ThirdPartyUser> {
    const cached = token && this.verified.get(token, Math.floor(this.clock.now().getTime() / 1000));
    // A cached token names the same client it did: its lookup id need not be read again.
    const lookupId = cached ? cached.lookupId : unverifiedClientId(token);
    const client = lookupId === undefined ? undefined : await this.directory.find(lookupId);
    if (cached && client === cached.client) return withClient({ ...cached.verified.user }, client);
    const verified = this.verifier.verifyToken(token, client);
    if (token) this.verified.set(token, { lookupId, client, verified });
    return withClient({ ...verified.user }, client);
  }
}

function withClient(user: ThirdPartyUser, client: RegisteredClient | undefined): ThirdPartyUser {
  if (client) user.client = client;
  return user;
}

/** The verified partner user of the request (use with PartnerJwtGuard). */
export const PartnerUser = createParamDecorator((_data: unknown, context: ExecutionContext) => {
  const user = context.switchToHttp().getRequest<PartnerRequest>().partnerUser;
  if (!user) throw new AppError(ErrorCode.Unauthorized, {}, 'token missing');
  return user;
});
