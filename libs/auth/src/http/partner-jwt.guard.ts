import { createParamDecorator, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import type { FastifyRequest } from 'fastify';
import type { KeyObject } from 'crypto';
import { Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, Clock, ErrorCode } from '@app/common';
import { PartnerDirectory, type RegisteredClient } from '@app/partners';
import {
  extractPartnerToken,
  PARTNER_SIGNATURE_OPTIONS,
  PartnerJwtVerifier,
  partnerTokenReason,
  unverifiedClientId,
  verifySignature,
} from '../jwt/partner-jwt.verifier';
import type { ThirdPartyUser } from '../jwt/third-party-user';
import { type CachedToken, VerifiedTokenCache } from '../jwt/verified-token-cache';

/** What the strategy looked up for a request's token (set by its key provider). */
interface PartnerLookup {
  lookupId: string | undefined;
  client: RegisteredClient | undefined;
}

type PartnerRequest = FastifyRequest & {
  partnerUser?: ThirdPartyUser;
  partnerLookup?: PartnerLookup;
  partnerVerified?: CachedToken;
};

const STRATEGY = 'partner-jwt';

function unauthorized(reason: string): AppError {
  return new AppError(ErrorCode.Unauthorized, {}, reason);
}

/** A directory failure, kept apart from the token's own faults (passport-jwt fails both). */
class DirectoryFailure {
  constructor(readonly cause: unknown) {}
}

/**
 * The partner `user-jwt-token` (else `Authorization: Bearer`), verified by passport-jwt: the key
 * provider runs the verifier's checks before any signature (size, shape, header, client claim)
 * and picks the key from the partner directory, pinned to its algorithm (the client's key its
 * `kid` names, a retired or unknown kid refused; else its keys of the header's algorithm; an
 * unregistered client the PARTNER_JWT_FALLBACK secret, HS256 only). passport-jwt checks the
 * signature with that key (times ignored there); `validate` checks the times on the service
 * clock and maps the claims ({@link PartnerJwtVerifier.verifiedClaims}).
 */
@Injectable()
export class PartnerJwtStrategy extends PassportStrategy(Strategy, STRATEGY) {
  private readonly verifier: PartnerJwtVerifier;

  constructor(@Inject(APP_CONFIG) config: AppConfig, clock: Clock, directory: PartnerDirectory) {
    const { secret, fallback } = config.partnerJwt;
    const verifier = new PartnerJwtVerifier(fallback ? secret : undefined, clock);
    super({
      jwtFromRequest: (request: FastifyRequest) => extractPartnerToken(request.headers) ?? null,
      // passport-jwt sets these two over jsonWebTokenOptions: both given at its top level.
      algorithms: PARTNER_SIGNATURE_OPTIONS.algorithms,
      ignoreExpiration: PARTNER_SIGNATURE_OPTIONS.ignoreExpiration,
      jsonWebTokenOptions: { ignoreNotBefore: PARTNER_SIGNATURE_OPTIONS.ignoreNotBefore },
      passReqToCallback: true,
      secretOrKeyProvider: (
        request: FastifyRequest,
        rawJwt: string,
        done: (error: unknown, key?: string | Buffer) => void,
      ) => {
        const lookupId = unverifiedClientId(rawJwt);
        const lookup =
          lookupId === undefined ? Promise.resolve(undefined) : directory.find(lookupId);
        lookup.then(
          (client) => {
            let key: KeyObject;
            try {
              const keys = verifier.keysForToken(rawJwt, client);
              // Several keys of the algorithm and no kid: the one whose signature holds.
              key = keys.length === 1 ? keys[0] : verifySignature(rawJwt, keys).key;
            } catch (error) {
              done(error);
              return;
            }
            (request as PartnerRequest).partnerLookup = { lookupId, client };
            // jsonwebtoken takes a KeyObject (made once per key: no parsing per request).
            done(null, key as unknown as Buffer);
          },
          (error: unknown) => done(new DirectoryFailure(error)),
        );
      },
    });
    this.verifier = verifier;
  }

  validate(request: PartnerRequest, payload: unknown): CachedToken {
    const lookup = request.partnerLookup ?? { lookupId: undefined, client: undefined };
    return { ...lookup, verified: this.verifier.verifiedClaims(payload, lookup.client) };
  }
}

/**
 * Lets a request in only with a valid partner JWT ({@link PartnerJwtStrategy}), and keeps the
 * user it names (with its client's registry entry, when registered) on the request. A token
 * seen before is not verified again while its client's entry is unchanged
 * ({@link VerifiedTokenCache}, in front of passport): no passport, no signature check.
 */
@Injectable()
export class PartnerJwtGuard extends AuthGuard(STRATEGY) {
  private readonly verified = new VerifiedTokenCache();

  constructor(
    private readonly clock: Clock,
    private readonly directory: PartnerDirectory,
  ) {
    super();
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<PartnerRequest>();
    const token = extractPartnerToken(request.headers);
    if (!token) throw unauthorized('token missing');
    const cached = this.verified.get(token, Math.floor(this.clock.now().getTime() / 1000));
    if (cached) {
      // A cached token names the same client it did: its lookup id need not be read again.
      const client =
        cached.lookupId === undefined ? undefined : await this.directory.find(cached.lookupId);
      if (client === cached.client) {
        request.partnerUser = withClient({ ...cached.verified.user }, client);
        return true;
      }
    }
    await super.canActivate(context);
    const entry = request.partnerVerified as CachedToken;
    this.verified.set(token, entry);
    request.partnerUser = withClient({ ...entry.verified.user }, entry.client);
    return true;
  }

  override getAuthenticateOptions(): { property: string; session: boolean } {
    return { property: 'partnerVerified', session: false };
  }

  override handleRequest<TUser>(error: unknown, user: TUser | false, info: unknown): TUser {
    // Errors of validate: a refused claim (AppError), or a bug.
    if (error) throw error as Error;
    if (user) return user;
    if (info instanceof DirectoryFailure) throw info.cause;
    if (info instanceof AppError) throw info;
    if (info instanceof Error && info.message === 'No auth token') {
      throw unauthorized('token missing');
    }
    // The signature check's own failures (jsonwebtoken's errors).
    throw unauthorized(partnerTokenReason(info));
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
