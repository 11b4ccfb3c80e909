import { Check, Column, CreateDateColumn, Entity, Index, PrimaryGeneratedColumn } from 'typeorm';

export type ChallengeStatus = 'pending' | 'verified' | 'locked';

/**
 * One code sent to one phone for one partner user. Expiry is not a status: a pending challenge
 * past `expires_at` is expired. Only the keyed hash of the code is stored.
 */
@Entity({ name: 'otp_challenges' })
@Index('ix_otp_challenges_user_phone', ['clientId', 'userId', 'phoneE164'])
@Index('ix_otp_challenges_expires_at', ['expiresAt'])
@Check('ck_otp_challenges_status', `"status" IN ('pending', 'verified', 'locked')`)
export class OtpChallenge {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_otp_challenges' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 256 })
  userId!: string;

  @Column({ name: 'phone_e164', type: 'varchar', length: 16 })
  phoneE164!: string;

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

  @Column({ name: 'result_phone_user_id', type: 'uuid', nullable: true })
  resultPhoneUserId!: string | null;

  @Column({ name: 'result_is_new_user', type: 'boolean', nullable: true })
  resultIsNewUser!: boolean | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
