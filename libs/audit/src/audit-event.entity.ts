import { Column, CreateDateColumn, Entity, Index, PrimaryColumn } from 'typeorm';

export const AUDIT_EVENTS = [
  'requested',
  'sent',
  'delivery_failed',
  'verify_failed',
  'locked',
  'verified',
  'linked',
  'link_conflict',
  'rate_limited',
  'unlinked',
] as const;
export type AuditEventName = (typeof AUDIT_EVENTS)[number];

/** Append-only trail of what happened to whom; phones are stored masked only. */
@Entity({ name: 'audit_events' })
@Index('ix_audit_events_user', ['clientId', 'userId', 'createdAt'])
@Index('ix_audit_events_created_at', ['createdAt'])
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

  @Column({ name: 'client_id', type: 'varchar', length: 128, nullable: true })
  clientId!: string | null;

  @Column({ name: 'user_id', type: 'varchar', length: 256, nullable: true })
  userId!: string | null;

  @Column({ name: 'phone_masked', type: 'varchar', length: 24, nullable: true })
  phoneMasked!: string | null;

  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  @Column({ name: 'challenge_id', type: 'uuid', nullable: true })
  challengeId!: string | null;

  @Column({ type: 'varchar', length: 500, nullable: true })
  detail!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
