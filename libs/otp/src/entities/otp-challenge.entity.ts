import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';
import type { Channel, TargetKind } from '@app/common';

export type ChallengeStatus = 'pending' | 'verified' | 'locked';

/**
 * One code sent to one target for one partner user. Expiry is not a status: where a challenge
 * stands is otp_challenge_state's to say (sql/otp_challenge_state.sql). Only the keyed hash of
 * the code is stored.
 */
@Entity({ name: 'otp_challenges' })
@Index('ix_otp_challenges_owner_target', ['clientId', 'userId', 'target'])
@Index('ix_otp_challenges_expires_at', ['expiresAt'])
@Check('ck_otp_challenges_status', `"status" IN ('pending', 'verified', 'locked')`)
@Check('ck_otp_challenges_target_kind', `"target_kind" IN ('phone', 'email', 'telegram')`)
@Check(
  'ck_otp_challenges_channel',
  `"channel" IN ('sms', 'whatsapp', 'voice', 'email', 'telegram')`,
)
export class OtpChallenge {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_otp_challenges' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 256 })
  userId!: string;

  /** E.164, an email address or a Telegram chat id (see Target). */
  @Column({ type: 'varchar', length: 320 })
  target!: string;

  @Column({ name: 'target_kind', type: 'varchar', length: 16, default: 'phone' })
  targetKind!: TargetKind;

  /** The channel of the latest send. */
  @Column({ type: 'varchar', length: 16, default: 'sms' })
  channel!: Channel;

  @Column({ name: 'auth_code', type: 'varchar', length: 15 })
  authCode!: string;

  @Column({ name: 'code_hash', type: 'bytea' })
  codeHash!: Buffer;

  @Column({ type: 'varchar', length: 16, default: 'pending' })
  status!: ChallengeStatus;

  @Column({ type: 'integer', default: 0 })
  attempts!: number;

  @Column({ name: 'send_count', type: 'integer', default: 1 })
  sendCount!: number;

  @Column({ name: 'last_sent_at', type: 'timestamptz' })
  lastSentAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt!: Date | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
