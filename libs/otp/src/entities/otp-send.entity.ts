import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { Channel } from '@app/common';

/** One code sent; the hourly send limits count these rows. */
@Entity({ name: 'otp_sends' })
@Index('ix_otp_sends_target', ['target', 'sentAt'])
@Index('ix_otp_sends_user', ['clientId', 'userId', 'sentAt'])
@Index('ix_otp_sends_sent_at', ['sentAt'])
@Index('ix_otp_sends_block', ['targetBlock', 'sentAt'])
export class OtpSend {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_otp_sends',
  })
  id!: string;

  @Column({ name: 'challenge_id', type: 'uuid' })
  challengeId!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 256 })
  userId!: string;

  @Column({ type: 'varchar', length: 320 })
  target!: string;

  /** A phone's number block (E.164 without its last 4 digits); empty for other targets. */
  @Column({ name: 'target_block', type: 'varchar', length: 16, default: '' })
  targetBlock!: string;

  @Column({ type: 'varchar', length: 16, default: 'sms' })
  channel!: Channel;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt!: Date;
}
