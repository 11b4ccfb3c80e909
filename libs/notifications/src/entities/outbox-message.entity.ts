import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type OutboxStatus = 'pending' | 'sent' | 'failed' | 'expired' | 'superseded' | 'held';

/**
 * A message waiting for (or done with) delivery. `payload` is the AES-256-GCM-encrypted
 * message content, wiped once the message is sent, failed, expired or superseded.
 */
@Entity({ name: 'outbox_messages' })
@Index('ix_outbox_messages_due', ['nextAttemptAt'], { where: `"status" = 'pending'` })
@Index('ix_outbox_messages_created_at', ['createdAt'])
@Index('ix_outbox_messages_group_live', ['groupKey'], {
  where: `"status" IN ('pending', 'held')`,
})
@Index('ix_outbox_messages_call_fallbacks', ['recipient', 'createdAt'], {
  where: `"channel" = 'voice' AND "after_id" IS NOT NULL`,
})
@Index('ix_outbox_messages_after_held', ['afterId'], { where: `"status" = 'held'` })
@Index('ix_outbox_messages_provider_message_id', ['providerMessageId'], {
  where: `"provider_message_id" IS NOT NULL`,
})
@Check(
  'ck_outbox_messages_status',
  `"status" IN ('pending', 'sent', 'failed', 'expired', 'superseded', 'held')`,
)
export class OutboxMessage {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_outbox_messages' })
  id!: string;

  @Column({ type: 'varchar', length: 16 })
  channel!: string;

  @Column({ type: 'varchar', length: 320 })
  recipient!: string;

  @Column({ type: 'bytea', nullable: true })
  payload!: Buffer | null;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: OutboxStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'next_attempt_at', type: 'timestamptz' })
  nextAttemptAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'last_error', type: 'varchar', length: 500, nullable: true })
  lastError!: string | null;

  @Column({ name: 'provider_message_id', type: 'varchar', length: 64, nullable: true })
  providerMessageId!: string | null;

  /** The provider's latest delivery receipt (`delivered`, `undelivered`, `completed`, …). */
  @Column({ name: 'delivery_status', type: 'varchar', length: 16, nullable: true })
  deliveryStatus!: string | null;

  @Column({ name: 'delivery_status_at', type: 'timestamptz', nullable: true })
  deliveryStatusAt!: Date | null;

  /** Messages of one group replace each other: a newer one supersedes the pending older ones. */
  @Column({ name: 'group_key', type: 'varchar', length: 64, nullable: true })
  groupKey!: string | null;

  /**
   * A fallback (`held` until then): the message whose permanent failure releases this one, on
   * the next channel of NOTIFY_FALLBACK, with the same code and expiry.
   */
  @Column({ name: 'after_id', type: 'uuid', nullable: true })
  afterId!: string | null;

  /** Who the message concerns, for the audit events its delivery writes. */
  @Column({ type: 'jsonb', default: {} })
  audit!: Record<string, string | undefined>;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'sent_at', type: 'timestamptz', nullable: true })
  sentAt!: Date | null;
}
