import { createHmac, hkdfSync, randomUUID } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { APP_CONFIG, AppConfig } from '@app/config';
import { Clock } from '@app/common';
import { SigningKeys } from './signing-keys';

export const ACCESS_TOKEN_TYPE = 'at+jwt';

/** What an access token says, once verified. */
export interface AccessClaims {
  iss: string;
  aud: string;
  /** The user's id for this client (pairwise). */
  sub: string;
  sid: string;
  jti: string;
  iat: number;
  exp: number;
  phone_number: string;
  phone_number_verified: true;
}

export interface AccessTokenRequest {
  sessionId: string;
  clientId: string;
  phoneUserId: string;
  phoneE164: string;
}

/** Why a token was refused; callers answer 401 INVALID_TOKEN whatever the reason. */
export class InvalidAccessToken extends Error {}

/** A compact JWS header, read before anything is verified. */
interface Header {
  alg?: unknown;
  typ?: unknown;
  kid?: unknown;
}

function header(token: string): Header | undefined {
  const [encoded, , , extra] = token.split('.');
  if (extra !== undefined || !encoded || encoded.length > 1024) return undefined;
  try {
    const parsed: unknown = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8'));
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Our access tokens: ES256 JWTs (`typ: at+jwt`, `kid`) signed with @nestjs/jwt by the current
 * key, verified against any published key with the algorithm pinned. `sub` is pairwise: an
 * HMAC of the client and the phone identity, so two clients cannot correlate a person.
 */
@Injectable()
export class AccessTokens {
  private readonly pairwiseKey: Buffer;

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: SigningKeys,
    private readonly clock: Clock,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {
    this.pairwiseKey = Buffer.from(
      hkdfSync('sha256', config.otp.secret, 'otp-link', 'pairwise-sub-v1', 32),
    );
  }

  /** The user's id for one client: stable, a UUID in form, unlinkable across clients. */
  pairwiseSubject(clientId: string, phoneUserId: string): string {
    const digest = createHmac('sha256', this.pairwiseKey)
      .update(`${clientId}\u0000${phoneUserId}`)
      .digest();
    digest[6] = (digest[6] & 0x0f) | 0x80; // version 8: a custom UUID
    digest[8] = (digest[8] & 0x3f) | 0x80; // RFC 9562 variant
    const hex = digest.subarray(0, 16).toString('hex');
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  async issue(request: AccessTokenRequest): Promise<{ token: string; claims: AccessClaims }> {
    const signing = await this.keys.signing();
    const iat = Math.floor(this.clock.now().getTime() / 1000);
    const claims: AccessClaims = {
      iss: this.config.tokens.issuer,
      aud: request.clientId,
      sub: this.pairwiseSubject(request.clientId, request.phoneUserId),
      sid: request.sessionId,
      jti: randomUUID(),
      iat,
      exp: iat + this.config.tokens.accessTokenTtlSeconds,
      phone_number: request.phoneE164,
      phone_number_verified: true,
    };
    const token = await this.jwt.signAsync(claims, {
      privateKey: signing.privateKey,
      algorithm: 'ES256',
      keyid: signing.kid,
      header: { alg: 'ES256', typ: ACCESS_TOKEN_TYPE, kid: signing.kid },
    });
    return { token, claims };
  }

  /**
   * The claims of a token we signed for `clientId`, with a published key, ES256 only. An expired
   * token passes only with `allowExpired` (a refresh names its session with it). Whether its
   * session still lives is the caller's check (`SessionStore.state`).
   */
  async verify(
    token: unknown,
    clientId: string,
    options: { allowExpired?: boolean } = {},
  ): Promise<AccessClaims> {
    if (typeof token !== 'string' || token.length > 4096) throw new InvalidAccessToken('shape');
    const head = header(token);
    if (head?.alg !== 'ES256' || head.typ !== ACCESS_TOKEN_TYPE || typeof head.kid !== 'string') {
      throw new InvalidAccessToken('header');
    }
    const key = (await this.keys.keys()).all.find((candidate) => candidate.kid === head.kid);
    if (!key) throw new InvalidAccessToken('kid');
    let claims: AccessClaims;
    try {
      claims = await this.jwt.verifyAsync<AccessClaims>(token, {
        publicKey: key.publicPem,
        algorithms: ['ES256'],
        issuer: this.config.tokens.issuer,
        audience: clientId,
        clockTimestamp: Math.floor(this.clock.now().getTime() / 1000),
        ignoreExpiration: options.allowExpired === true,
      });
    } catch {
      throw new InvalidAccessToken('signature or claims');
    }
    if (typeof claims.sid !== 'string' || typeof claims.sub !== 'string') {
      throw new InvalidAccessToken('claims');
    }
    return claims;
  }
}
