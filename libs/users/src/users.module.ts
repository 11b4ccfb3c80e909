import { Module } from '@nestjs/common';
import { LinkRepository } from './link.repository';

/** Phone identities, partner users and links, with the linking rules. */
@Module({
  providers: [LinkRepository],
  exports: [LinkRepository],
})
export class UsersModule {}
