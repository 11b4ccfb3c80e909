import type { PartnerUserRef } from '@app/common';

/** Who a partner token is about: the partner client, its user, and what partners add. */
export interface PartnerTokenSubject extends PartnerUserRef {
  clientName?: string;
  walletAddress?: string;
}

/**
 * The identity claims of a partner token as partners mint them (spec §2), for the tools that
 * mint tokens here (the admin CLI's token:mint, the development script, tests and the bench).
 * The verifier reads them back (`toThirdPartyUser`); `iat`/`exp` are the minter's.
 */
export function partnerTokenClaims(subject: PartnerTokenSubject): Record<string, string> {
  const { clientId, userId, clientName, walletAddress } = subject;
  return {
    sub: userId,
    user_id: userId,
    client_id: clientId,
    iss: clientId,
    third_party_client_id: clientId,
    ...(clientName !== undefined ? { third_party_client_name: clientName } : {}),
    namespaced_third_party_user_id: `${clientId}___${userId}`,
    ...(walletAddress ? { wallet_address: walletAddress } : {}),
  };
}
