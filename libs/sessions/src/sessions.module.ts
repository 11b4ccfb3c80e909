import { Module } from '@nestjs/common';
import { SessionRetentionJob } from './session-retention.job';
import { SessionStore } from './session-store';

/** Sessions of apps signed in with a phone code, and their refresh-token families. */
@Module({
  providers: [SessionStore, SessionRetentionJob],
  exports: [SessionStore, SessionRetentionJob],
})
export class SessionsModule {}
