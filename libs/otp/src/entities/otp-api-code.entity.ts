import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import type { Channel } from '@app/common';

/**
 * A password a partner backend created through the OTP API (OTP-API.md): one row each, so
 * several may be live for one target, each with its own lifetime. Only its keyed hash is kept.
 */
@Entity({ name: 'otp_api_codes' })
@Index('ix_otp_api_codes_target', ['clientId', 'channel', 'target', 'createdAt'])
@Index('ix_otp_api_codes_hash', ['clientId', 'channel', 'codeHash'])
@Index('ix_otp_api_codes_ip', ['clientId', 'channel', 'ip', 'createdAt'])
@Index('ix_otp_api_codes_expires_at', ['expiresAt'])
export class OtpApiCode {
  @PrimaryColumn({ type: 'uuid', primaryKeyConstraintName: 'pk_otp_api_codes' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'varchar', length: 16 })
  channel!: Channel;

  @Column({ type: 'varchar', length: 320 })
  target!: string;

  /** HMAC-SHA256(OTP_SECRET, [client, channel] : password): findable by password (GET /target). */
  @Column({ name: 'code_hash', type: 'bytea' })
  codeHash!: Buffer;

  /** The end user's address the caller named (`ip`): the IP limits count it. */
  @Column({ type: 'varchar', length: 64, nullable: true })
  ip!: string | null;

  /** Wrong checks of its target while it was live; the cap looks at the newest live one's. */
  @Column({ name: 'wrong_checks', type: 'integer', default: 0 })
  wrongChecks!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'verified_at', type: 'timestamptz', nullable: true })
  verifiedAt!: Date | null;
}
