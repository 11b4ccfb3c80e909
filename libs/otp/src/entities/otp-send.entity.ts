import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One code sent; the hourly send limits count these rows. */
@Entity({ name: 'otp_sends' })
@Index('ix_otp_sends_phone', ['phoneE164', 'sentAt'])
@Index('ix_otp_sends_user', ['clientId', 'userId', 'sentAt'])
@Index('ix_otp_sends_sent_at', ['sentAt'])
@Index('ix_otp_sends_prefix', ['phonePrefix', 'sentAt'])
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

  @Column({ name: 'phone_e164', type: 'varchar', length: 16 })
  phoneE164!: string;

  /** The number block: E.164 without its last PREFIX_HIDDEN_DIGITS digits. */
  @Column({ name: 'phone_prefix', type: 'varchar', length: 16, default: '' })
  phonePrefix!: string;

  @Column({ name: 'sent_at', type: 'timestamptz' })
  sentAt!: Date;
}
