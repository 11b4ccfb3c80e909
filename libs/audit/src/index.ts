export { AuditModule } from './audit.module';
export { AuditService } from './audit.service';
export type { AuditRecord } from './audit.service';
export { AuditEvent, AUDIT_EVENTS } from './audit-event.entity';
export type { AuditEventName } from './audit-event.entity';
