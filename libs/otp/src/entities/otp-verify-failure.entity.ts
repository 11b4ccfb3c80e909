import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/** One wrong code checked against a live challenge; the per-target cap on wrong codes counts these. */
@Entity({ name: 'otp_verify_failures' })
@Index('ix_otp_verify_failures_target', ['target', 'failedAt'])
export class OtpVerifyFailure {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_otp_verify_failures',
  })
  id!: string;

  @Column({ type: 'varchar', length: 320 })
  target!: string;

  @Column({ name: 'challenge_id', type: 'uuid' })
  challengeId!: string;

  @Column({ name: 'failed_at', type: 'timestamptz' })
  failedAt!: Date;
}
