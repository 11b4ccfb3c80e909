import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A website's sign-in flow in progress (FLOWS.md), kept here so that any instance continues
 * any flow. Named by the SHA-256 of its id (256 random bits, held by the browser only): a
 * database reader cannot continue someone's flow. It goes when it signs in, when its code's
 * retries run out, or (the retention job) past its expiry.
 */
@Entity({ name: 'auth_flows' })
@Index('ix_auth_flows_expires_at', ['expiresAt'])
export class AuthFlow {
  @PrimaryColumn({ name: 'id_hash', type: 'bytea', primaryKeyConstraintName: 'pk_auth_flows' })
  idHash!: Buffer;

  /** A partner client's id, or `default`. */
  @Column({ type: 'varchar', length: 128 })
  realm!: string;

  @Column({ type: 'varchar', length: 64 })
  flow!: string;

  /** The flow's modules when it started, comma-separated (`phone,otp`). */
  @Column({ type: 'varchar', length: 128 })
  modules!: string;

  /** The module asked for now (an index into `modules`). */
  @Column({ type: 'integer', default: 0 })
  position!: number;

  /** The target the current code went to: E.164 or an email address. */
  @Column({ type: 'varchar', length: 320, nullable: true })
  target!: string | null;

  @Column({ name: 'target_kind', type: 'varchar', length: 16, nullable: true })
  targetKind!: string | null;

  /** The current code's challenge and its auth code (how the engine finds it). */
  @Column({ name: 'challenge_id', type: 'uuid', nullable: true })
  challengeId!: string | null;

  @Column({ name: 'auth_code', type: 'varchar', length: 15, nullable: true })
  authCode!: string | null;

  /** Targets whose codes were checked already (a flow of several pairs). */
  @Column({ name: 'verified_phone', type: 'varchar', length: 16, nullable: true })
  verifiedPhone!: string | null;

  @Column({ name: 'verified_email', type: 'varchar', length: 320, nullable: true })
  verifiedEmail!: string | null;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;
}
