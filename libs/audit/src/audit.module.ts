import { Global, Module } from '@nestjs/common';
import { AuditService } from './audit.service';

/** The audit trail, written by every module that does something worth tracing. */
@Global()
@Module({
  providers: [AuditService],
  exports: [AuditService],
})
export class AuditModule {}
