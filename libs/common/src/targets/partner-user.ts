/** A partner client's user, as its tokens name it: the pair every limit and link is keyed by. */
export interface PartnerUserRef {
  clientId: string;
  userId: string;
}

/** Who acted, when not the partner's user in the flow itself. */
export const AUDIT_ACTORS = ['user', 'partner', 'admin'] as const;
export type AuditActor = (typeof AUDIT_ACTORS)[number];

/** Who did something and from where, for the audit trail. */
export interface AuditContext {
  actor?: AuditActor;
  clientId?: string;
  userId?: string;
  ip?: string;
}
