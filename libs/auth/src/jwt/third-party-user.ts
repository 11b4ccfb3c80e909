import type { PartnerUserRef } from '@app/common';
import type { RegisteredClient } from '@app/partners';

/**
 * The partner studio's user a request acts for, taken from a verified partner JWT (spec §2):
 * `clientId` is `third_party_client_id`, else `client_id`; `userId` is `user_id`, else `sub`.
 */
export interface ThirdPartyUser extends PartnerUserRef {
  /** Always the canonical `${clientId}___${userId}`, whichever form the token carried. */
  namespacedId: string;
  walletAddress?: string;
  clientName?: string;
  /** The client's registry entry (its settings), when the client is registered. */
  client?: RegisteredClient;
}
