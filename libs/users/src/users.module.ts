import { Module } from '@nestjs/common';
import { LinkRepository } from './link.repository';
import { LinkProbeRetentionJob } from './link-probe-retention.job';

/** Phone identities, partner users and links, with the linking rules. */
@Module({
  providers: [LinkRepository, LinkProbeRetentionJob],
  exports: [LinkRepository, LinkProbeRetentionJob],
})
export class UsersModule {}
