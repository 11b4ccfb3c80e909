import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';
import type { AuditActor } from '@app/common';

export const AUDIT_EVENTS = [
  'requested',
  'sent',
  'delivery_failed',
  'fallback',
  'receipt',
  'verify_failed',
  'locked',
  'verified',
  'linked',
  'link_conflict',
  'rate_limited',
  'unlinked',
  'client_created',
  'client_updated',
  'client_suspended',
  'client_activated',
  'key_added',
  'key_retired',
  'api_secret_rotated',
  'limits_cleared',
  'pumping_cleared',
  'sign_in_refused',
] as const;
export type AuditEventName = (typeof AUDIT_EVENTS)[number];

export { AUDIT_ACTORS } from '@app/common';
export type { AuditActor } from '@app/common';

/**
 * Append-only trail of what happened to whom. Targets are stored masked, and as a keyed hash so
 * operators can look events up by phone.
 */
@Entity({ name: 'audit_events' })
@Index('ix_audit_events_user', ['clientId', 'userId', 'createdAt'])
@Index('ix_audit_events_created_at', ['createdAt'])
@Index('ix_audit_events_target', ['targetHash', 'createdAt'], {
  where: '"target_hash" IS NOT NULL',
})
export class AuditEvent {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_audit_events',
  })
  id!: string;

  @Column({ type: 'varchar', length: 32 })
  event!: AuditEventName;

  @Column({ type: 'varchar', length: 16, nullable: true })
  actor!: AuditActor | null;

  @Column({ name: 'client_id', type: 'varchar', length: 128, nullable: true })
  clientId!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 256, nullable: true })
  userId!: string | null;

  @Column({ name: 'target_masked', type: 'varchar', length: 128, nullable: true })
  targetMasked!: string | null;

  @Column({ name: 'target_hash', type: 'bytea', nullable: true })
  targetHash!: Buffer | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'challenge_id', type: 'uuid', nullable: true })
  challengeId!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  detail!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
