export { SessionsModule } from './sessions.module';
export { SessionStore } from './session-store';
export type {
  RefreshFailure,
  RefreshRequest,
  RefreshResult,
  SessionEndRequest,
  SessionStartDraft,
  SessionState,
  StartedSession,
} from './session-store';
export { isOpaqueToken, newOpaqueToken, tokenHash } from './session-secrets';
export {
  SessionRetentionJob,
  SESSION_RETENTION_MS,
  REFRESH_TOKEN_RETENTION_MS,
} from './session-retention.job';
export { SESSIONS_FUNCTIONS } from './sessions-functions';
export { AppSession, SESSION_END_REASONS } from './entities/app-session.entity';
export type { SessionEndReason } from './entities/app-session.entity';
export { RefreshTokenRecord } from './entities/refresh-token.entity';
export {
  NoSigningKey,
  SigningKeys,
  signingKey,
  SIGNING_KEYS_CHANNEL,
  SIGNING_KEYS_RELOAD_MS,
} from './signing-keys';
export type { KeyRing, PublicJwk, SigningKey, SigningKeyView } from './signing-keys';
export { AccessTokens, InvalidAccessToken, ACCESS_TOKEN_TYPE } from './access-tokens';
export type { AccessClaims, AccessTokenRequest } from './access-tokens';
export { TokenSigningKey } from './entities/token-signing-key.entity';
export type { SigningKeyStatus } from './entities/token-signing-key.entity';
export { WebSessions } from './web-sessions';
export type { WebSessionDraft, WebSessionView } from './web-sessions';
export { SESSION_KINDS } from './entities/app-session.entity';
export type { SessionKind } from './entities/app-session.entity';
export {
  VerificationTokens,
  VERIFICATION_TOKEN_TTL_SECONDS,
  VERIFICATION_TOKEN_TYPE,
} from './verification-tokens';
export type { VerificationClaims } from './verification-tokens';
export { SessionDirectory } from './session-directory';
export type { SessionQuery, SessionView } from './session-directory';
