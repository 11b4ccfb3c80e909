export { AuditModule } from './audit.module';
export { AuditService } from './audit.service';
export type { AuditEventView, AuditQuery, AuditRecord } from './audit.service';
export { AuditEvent, AUDIT_EVENTS, AUDIT_ACTORS } from './audit-event.entity';
export type { AuditActor, AuditEventName } from './audit-event.entity';
