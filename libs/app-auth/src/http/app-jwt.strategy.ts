import { Inject, Injectable } from '@nestjs/common';
import { AuthGuard, PassportStrategy } from '@nestjs/passport';
import { ExtractJwt, Strategy } from 'passport-jwt';
import { APP_CONFIG, AppConfig } from '@app/config';
import { AppError, Clock, ErrorCode, isDatabaseUnavailable } from '@app/common';
import {
  ACCESS_TOKEN_TYPE,
  AccessClaims,
  SessionState,
  SessionStore,
  SigningKeys,
} from '@app/sessions';
import type { AppRequest } from './app-key.guard';

/** The signed-in caller, as the token guard leaves it on the request. */
export interface AppUser {
  claims: AccessClaims;
  session: SessionState;
}

const MAX_TOKEN_LENGTH = 4096;

/** The JWS header of a compact token, before anything is verified (undefined when unreadable). */
function headerOf(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0].length > 1024) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(parts[0], 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null
      ? (parsed as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Our access tokens, verified by passport-jwt: ES256 only, with the published key its `kid`
 * names (the JWKS key set: current and retiring keys; a retired key is not in it), our issuer;
 * then, here, `typ: at+jwt`, the audience of the request's app key, the expiry against the
 * service clock, and the session's state read from the database on every call, so a logout or
 * a revocation ends every token at once on every instance.
 */
@Injectable()
export class AppJwtStrategy extends PassportStrategy(Strategy, 'app-jwt') {
  constructor(
    keys: SigningKeys,
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    super({
      jwtFromRequest: ExtractJwt.fromAuthHeaderAsBearerToken(),
      algorithms: ['ES256'],
      issuer: config.tokens.issuer,
      // Checked in validate against the service clock.
      ignoreExpiration: true,
      passReqToCallback: true,
      secretOrKeyProvider: (
        _request: unknown,
        rawJwt: string,
        done: (error: unknown, key?: string) => void,
      ) => {
        const header =
          typeof rawJwt === 'string' && rawJwt.length <= MAX_TOKEN_LENGTH
            ? headerOf(rawJwt)
            : undefined;
        if (
          header?.alg !== 'ES256' ||
          header.typ !== ACCESS_TOKEN_TYPE ||
          typeof header.kid !== 'string'
        ) {
          done(new AppError(ErrorCode.InvalidToken));
          return;
        }
        keys.keys().then(
          (ring) => {
            const key = ring.all.find((candidate) => candidate.kid === header.kid);
            if (key) done(null, key.publicPem);
            else done(new AppError(ErrorCode.InvalidToken));
          },
          (error: unknown) => done(error),
        );
      },
    });
  }

  async validate(request: AppRequest, claims: AccessClaims): Promise<AppUser> {
    const client = request.appClient;
    const now = Math.floor(this.clock.now().getTime() / 1000);
    if (
      !client ||
      claims.aud !== client.id ||
      typeof claims.sid !== 'string' ||
      typeof claims.sub !== 'string' ||
      typeof claims.exp !== 'number' ||
      claims.exp <= now
    ) {
      throw new AppError(ErrorCode.InvalidToken);
    }
    const session = await this.sessions.state(claims.sid);
    if (!session || !session.active || session.clientId !== client.id) {
      throw new AppError(ErrorCode.InvalidToken);
    }
    return { claims, session };
  }
}

/** Our access token on the request (`authorization: Bearer`), else 401 INVALID_TOKEN. */
@Injectable()
export class AppJwtGuard extends AuthGuard('app-jwt') {
  override handleRequest<TUser>(error: unknown, user: TUser | false): TUser {
    // A database that does not answer is not the caller's fault: 503, not 401.
    if (isDatabaseUnavailable(error)) throw error;
    if (error || !user) throw new AppError(ErrorCode.InvalidToken);
    return user;
  }
}
