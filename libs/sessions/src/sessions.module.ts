import { Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { AccessTokens } from './access-tokens';
import { SessionRetentionJob } from './session-retention.job';
import { SessionDirectory } from './session-directory';
import { SessionStore } from './session-store';
import { SigningKeys } from './signing-keys';
import { WebSessions } from './web-sessions';
import { VerificationTokens } from './verification-tokens';

/**
 * Sessions of apps signed in with a phone code, their refresh-token families, and the keys and
 * access tokens that prove them.
 */
@Module({
  imports: [JwtModule.register({})],
  providers: [
    SessionStore,
    SessionRetentionJob,
    SigningKeys,
    AccessTokens,
    WebSessions,
    VerificationTokens,
    SessionDirectory,
  ],
  exports: [
    SessionStore,
    SessionRetentionJob,
    SigningKeys,
    AccessTokens,
    WebSessions,
    VerificationTokens,
    SessionDirectory,
  ],
})
export class SessionsModule {}
