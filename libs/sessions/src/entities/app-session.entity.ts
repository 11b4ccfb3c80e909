import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
} from 'typeorm';
import { PartnerClient } from '@app/partners';
import { PhoneUser } from '@app/users';

/** Why a session ended. */
export const SESSION_END_REASONS = [
  'logout',
  'refresh_reuse',
  'revoked_session',
  'revoked_user',
  'revoked_client',
] as const;
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

/**
 * A signed-in app: one partner client's app, one phone identity, one device. Its access tokens
 * name it (`sid`) and stop working when it ends; its refresh tokens rotate (`RefreshTokenRecord`).
 * `expires_at` is its newest refresh token's expiry: past it, nothing can renew it.
 */
@Entity({ name: 'app_sessions' })
@Check('ck_app_sessions_ended', `("ended_at" IS NULL) = ("end_reason" IS NULL)`)
@Index('ix_app_sessions_phone_user', ['phoneUserId', 'clientId'])
@Index('ix_app_sessions_client', ['clientId', 'createdAt'])
@Index('ix_app_sessions_expires_at', ['expiresAt'])
@Index('ix_app_sessions_ended_at', ['endedAt'])
export class AppSession {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_app_sessions' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'phone_user_id', type: 'uuid' })
  phoneUserId!: string;

  /** SHA-256 of the device token given at sign-in. */
  @Column({ name: 'device_hash', type: 'bytea' })
  deviceHash!: Buffer;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'refreshed_at', type: 'timestamptz' })
  refreshedAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'ended_at', type: 'timestamptz', nullable: true })
  endedAt!: Date | null;

  @Column({ name: 'end_reason', type: 'varchar', length: 32, nullable: true })
  endReason!: SessionEndReason | null;

  @ManyToOne(() => PartnerClient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_id', foreignKeyConstraintName: 'fk_app_sessions_client' })
  client?: PartnerClient;

  @ManyToOne(() => PhoneUser, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'phone_user_id', foreignKeyConstraintName: 'fk_app_sessions_phone_user' })
  phoneUser?: PhoneUser;
}
