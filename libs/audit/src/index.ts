export { AuditModule } from './audit.module';
export {
  AuditService,
  AUDIT_COLUMNS,
  AUDIT_COLUMN_COUNT,
  AUDIT_COLUMN_TYPES,
  auditRecordCall,
  placeholders,
} from './audit.service';
export type { AuditedTarget, AuditEventView, AuditQuery, AuditRecord } from './audit.service';
export { AuditEvent, AUDIT_EVENTS, AUDIT_ACTORS } from './audit-event.entity';
export type { AuditActor, AuditEventName } from './audit-event.entity';
export { AUDIT_FUNCTIONS } from './audit-functions';
