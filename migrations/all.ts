import { InitialSchema1763900000000 } from './1763900000000-initial-schema';
import { OutboxSupersede1763900100000 } from './1763900100000-outbox-supersede';
import { AbuseLimits1763900200000 } from './1763900200000-abuse-limits';
import { PartnerRegistry1763900300000 } from './1763900300000-partner-registry';
import { HotPathFunctions1763900400000 } from './1763900400000-hot-path-functions';
import { EngineTargets1764900000000 } from './1764900000000-engine-targets';
import { AbuseGuards1764900100000 } from './1764900100000-abuse-guards';
import { ChannelFallback1764990000000 } from './1764990000000-channel-fallback';
import { AppSessions1765000000000 } from './1765000000000-app-sessions';
import { TokenSigningKeys1765000100000 } from './1765000100000-token-signing-keys';
import { ClientMessageSettings1765000200000 } from './1765000200000-client-message-settings';
import { OutboxIndexes1765000300000 } from './1765000300000-outbox-indexes';
import { OtpApi1765001000000 } from './1765001000000-otp-api';
import { AppKeys1765002000000 } from './1765002000000-app-keys';
import { AuthFlows1765004000000 } from './1765004000000-auth-flows';
import { LeanSendIndexes1765005000000 } from './1765005000000-lean-send-indexes';
import { AppSignInOwners1765006000000 } from './1765006000000-app-sign-in-owners';

/**
 * Every migration, oldest first. `npm run migration:generate -- migrations/Name` writes a new
 * file; add its class here (an explicit list works the same from ts-node, Jest and dist/).
 * Database functions are not migrations: each lib keeps its current definitions in `sql/`.
 */
export const MIGRATIONS = [
  InitialSchema1763900000000,
  OutboxSupersede1763900100000,
  AbuseLimits1763900200000,
  PartnerRegistry1763900300000,
  HotPathFunctions1763900400000,
  EngineTargets1764900000000,
  AbuseGuards1764900100000,
  ChannelFallback1764990000000,
  AppSessions1765000000000,
  TokenSigningKeys1765000100000,
  ClientMessageSettings1765000200000,
  OutboxIndexes1765000300000,
  OtpApi1765001000000,
  AppKeys1765002000000,
  AuthFlows1765004000000,
  LeanSendIndexes1765005000000,
  AppSignInOwners1765006000000,
];
