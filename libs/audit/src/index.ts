export { AuditModule } from './audit.module';
export { AuditEvent, AUDIT_EVENTS } from './audit-event.entity';
export type { AuditEventName } from './audit-event.entity';
