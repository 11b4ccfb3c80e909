import { Module } from '@nestjs/common';
import { LinkService } from './link.service';

/** Phone identities, partner users and links, with the linking rules. */
@Module({
  providers: [LinkService],
  exports: [LinkService],
})
export class UsersModule {}
