import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One wrong code checked against a live challenge; the per-phone failed-verify cap counts these. */
@Entity({ name: 'otp_verify_failures' })
@Index('ix_otp_verify_failures_phone', ['phoneE164', 'failedAt'])
export class OtpVerifyFailure {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_otp_verify_failures',
  })
  id!: string;

  @Column({ name: 'phone_e164', type: 'varchar', length: 16 })
  phoneE164!: string;

  @Column({ name: 'challenge_id', type: 'uuid' })
  challengeId!: string;

  @Column({ name: 'failed_at', type: 'timestamptz' })
  failedAt!: Date;
}
