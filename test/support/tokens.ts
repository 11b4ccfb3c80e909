import { randomUUID } from 'node:crypto';
import { sign } from 'jsonwebtoken';
import { partnerTokenClaims } from '@app/partners';
import { DEV_PARTNER_JWT_SECRET } from '@app/config';

export interface TokenClaims {
  clientId?: string;
  userId?: string;
  clientName?: string;
  walletAddress?: string;
  [claim: string]: unknown;
}

/** A partner JWT like a real partner's (spec §2), signed with the development secret by default. */
export function partnerToken(
  claims: TokenClaims = {},
  options: { secret?: string; expiresInSeconds?: number } = {},
): string {
  const {
    clientId = randomUUID(),
    userId = `user-${randomUUID()}`,
    clientName = 'Ludo',
    walletAddress,
    ...rest
  } = claims;
  const now = Math.floor(Date.now() / 1000);
  return sign(
    {
      ...partnerTokenClaims({ clientId, userId, clientName, walletAddress }),
      is_new_user: true,
      iat: now,
      exp: now + (options.expiresInSeconds ?? 3600),
      ...rest,
    },
    options.secret ?? DEV_PARTNER_JWT_SECRET,
    { algorithm: 'HS256' },
  );
}

/** A fresh partner user (own client and user id) and its token. */
export function newPartnerUser(
  claims: TokenClaims = {},
  options: { secret?: string; expiresInSeconds?: number } = {},
) {
  const clientId = claims.clientId ?? randomUUID();
  const userId = claims.userId ?? `user-${randomUUID().slice(0, 8)}`;
  return { clientId, userId, token: partnerToken({ ...claims, clientId, userId }, options) };
}
