import { Module } from '@nestjs/common';
import { PartnerDirectory } from './partner-directory';
import { PartnerRegistry } from './partner-registry';

/** The partner registry (operators' side) and its cached directory (the request path's side). */
@Module({
  providers: [PartnerRegistry, PartnerDirectory],
  exports: [PartnerRegistry, PartnerDirectory],
})
export class PartnersModule {}
