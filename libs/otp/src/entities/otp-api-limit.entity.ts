import { Column, Entity, PrimaryColumn } from 'typeorm';

/** One rate: at most `rate` creates in `minutes`. */
export interface OtpApiRate {
  minutes: number;
  rate: number;
}

/** A partner client's own limits of one OTP API channel (POST /limit/{channel}). */
@Entity({ name: 'otp_api_limits' })
export class OtpApiLimit {
  @PrimaryColumn({
    name: 'client_id',
    type: 'varchar',
    length: 128,
    primaryKeyConstraintName: 'pk_otp_api_limits',
  })
  clientId!: string;

  @PrimaryColumn({ type: 'varchar', length: 16, primaryKeyConstraintName: 'pk_otp_api_limits' })
  channel!: string;

  @Column({ type: 'jsonb' })
  ips!: OtpApiRate[];

  /** Per target: `phones`, `emails` or `chat_ids` on the wire. */
  @Column({ type: 'jsonb' })
  targets!: OtpApiRate[];

  @Column({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
