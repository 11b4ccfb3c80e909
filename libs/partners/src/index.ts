export { PartnersModule } from './partners.module';
export { PartnerRegistry, MAX_ACTIVE_KEYS } from './partner-registry';
export type {
  ClientKeyView,
  ClientView,
  IssuedKey,
  NewClient,
  PublicKeyInput,
} from './partner-registry';
export {
  PartnerDirectory,
  PARTNER_CACHE_TTL_MS,
  PARTNER_CHANGES_CHANNEL,
} from './partner-directory';
export type { RegisteredClient, VerificationKey } from './partner-directory';
export { apiSecretMatches } from './key-material';
export { checkClientId, clientIdProblem, MAX_SENDER_NAME_LENGTH } from './client-rules';
export type { ClientSettings } from './client-rules';
export { PartnerClient, CLIENT_STATUSES } from './entities/partner-client.entity';
export type { ClientStatus } from './entities/partner-client.entity';
export { PartnerClientKey, KEY_ALGORITHMS } from './entities/partner-client-key.entity';
export type { KeyAlgorithm } from './entities/partner-client-key.entity';
export { partnerTokenClaims } from './partner-claims';
export type { PartnerTokenSubject } from './partner-claims';
export { AppKeys, appKeyHash, checkOrigins, isAppKey, MAX_ACTIVE_APP_KEYS } from './app-keys';
export type { AppKeyView, IssuedAppKey, ResolvedAppKey } from './app-keys';
export { PartnerAppKey } from './entities/partner-app-key.entity';
