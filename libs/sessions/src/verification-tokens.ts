import { createHash } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import { JwtService } from '@nestjs/jwt';
import { LRUCache } from 'lru-cache';
import { APP_CONFIG, AppConfig } from '@app/config';
import { NoSigningKey, SigningKeys } from './signing-keys';

export const VERIFICATION_TOKEN_TYPE = 'phone-verification+jwt';
/** A verification token proves a link for this long (APP-AUTH.md: 10 minutes). */
export const VERIFICATION_TOKEN_TTL_SECONDS = 600;

/** What a verification token says. */
export interface VerificationClaims {
  iss: string;
  /** The partner client. */
  aud: string;
  /** The partner's own user id (the third-party user). */
  sub: string;
  phone_number: string;
  phone_user_id: string;
  jti: string;
  iat: number;
  exp: number;
}

/**
 * Proof of a phone link a partner backend checks offline (APP-AUTH.md): an ES256 JWT
 * (`typ: phone-verification+jwt`) signed with the keys of our access tokens, so the same
 * `/.well-known/jwks.json` verifies it.
 */
@Injectable()
export class VerificationTokens {
  /**
   * A token per link, kept while it is valid: a repeated verify answers the first answer
   * unchanged (API.md §3), and ECDSA signatures are not deterministic. Per instance: another
   * instance answers a token with the same claims and another signature.
   */
  private readonly issued = new LRUCache<string, Promise<string>>({
    max: 10_000,
    ttl: VERIFICATION_TOKEN_TTL_SECONDS * 1000,
  });

  constructor(
    private readonly jwt: JwtService,
    private readonly keys: SigningKeys,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** The token, or undefined when this service signs nothing (production without keys). */
  async issue(input: {
    clientId: string;
    userId: string;
    phoneE164: string;
    phoneUserId: string;
    /** When the link was made: its `iat`, so a repeated verify gets the same claims. */
    linkedAt: Date;
  }): Promise<string | undefined> {
    let signing;
    try {
      signing = await this.keys.signing();
    } catch (error) {
      if (error instanceof NoSigningKey) return undefined;
      throw error;
    }
    const key = JSON.stringify([
      signing.kid,
      input.clientId,
      input.userId,
      input.phoneUserId,
      input.phoneE164,
      input.linkedAt.getTime(),
    ]);
    let token = this.issued.get(key);
    if (!token) {
      // Claims from the link alone: another instance repeating the verify signs the same ones.
      const iat = Math.floor(input.linkedAt.getTime() / 1000);
      const claims: VerificationClaims = {
        iss: this.config.tokens.issuer,
        aud: input.clientId,
        sub: input.userId,
        phone_number: input.phoneE164,
        phone_user_id: input.phoneUserId,
        jti: createHash('sha256').update(key).digest('base64url').slice(0, 22),
        iat,
        exp: iat + VERIFICATION_TOKEN_TTL_SECONDS,
      };
      token = this.jwt.signAsync(claims, {
        privateKey: signing.privateKey,
        algorithm: 'ES256',
        keyid: signing.kid,
        header: { alg: 'ES256', typ: VERIFICATION_TOKEN_TYPE, kid: signing.kid },
      });
      this.issued.set(key, token);
      token.catch(() => this.issued.delete(key));
    }
    return token;
  }
}
