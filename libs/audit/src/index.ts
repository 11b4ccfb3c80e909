export { AuditModule } from './audit.module';
export { AuditService, AUDIT_COLUMNS, AUDIT_COLUMN_COUNT, placeholders } from './audit.service';
export type { AuditEventView, AuditQuery, AuditRecord } from './audit.service';
export { AuditEvent, AUDIT_EVENTS, AUDIT_ACTORS } from './audit-event.entity';
export type { AuditActor, AuditEventName } from './audit-event.entity';
