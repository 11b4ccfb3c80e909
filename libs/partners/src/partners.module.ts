import { Module } from '@nestjs/common';
import { AppKeys } from './app-keys';
import { PartnerDirectory } from './partner-directory';
import { PartnerRegistry } from './partner-registry';

/** The partner registry (operators' side) and its cached directory (the request path's side). */
@Module({
  providers: [PartnerRegistry, PartnerDirectory, AppKeys],
  exports: [PartnerRegistry, PartnerDirectory, AppKeys],
})
export class PartnersModule {}
