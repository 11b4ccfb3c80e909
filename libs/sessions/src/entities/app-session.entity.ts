import {
  Check,
  Column,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
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

/** An app signed in with tokens (APP-AUTH.md), or a website with a cookie (FLOWS.md). */
export const SESSION_KINDS = ['app', 'web'] as const;
export type SessionKind = (typeof SESSION_KINDS)[number];

/** What each kind of session names (a web session: its realm's client, or none for `default`). */
export const SESSION_KIND_CHECK =
  `("kind" = 'app' AND "client_id" IS NOT NULL AND "phone_user_id" IS NOT NULL` +
  ` AND "device_hash" IS NOT NULL AND "token_hash" IS NULL)` +
  ` OR ("kind" = 'web' AND "token_hash" IS NOT NULL AND "device_hash" IS NULL` +
  ` AND ("phone_user_id" IS NOT NULL OR "email" IS NOT NULL))`;

/**
 * A signed-in app: one partner client's app, one phone identity, one device. Its access tokens
 * name it (`sid`) and stop working when it ends; its refresh tokens rotate (`RefreshTokenRecord`).
 * `expires_at` is its newest refresh token's expiry: past it, nothing can renew it.
 */
@Entity({ name: 'app_sessions' })
@Check('ck_app_sessions_ended', `("ended_at" IS NULL) = ("end_reason" IS NULL)`)
@Check('ck_app_sessions_kind', SESSION_KIND_CHECK)
@Unique('uq_app_sessions_token_hash', ['tokenHash'])
@Index('ix_app_sessions_phone_user', ['phoneUserId', 'clientId'])
@Index('ix_app_sessions_client', ['clientId', 'createdAt'])
@Index('ix_app_sessions_expires_at', ['expiresAt'])
@Index('ix_app_sessions_ended_at', ['endedAt'])
export class AppSession {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_app_sessions' })
  id!: string;

  @Column({ type: 'varchar', length: 8, default: 'app' })
  kind!: SessionKind;

  /** The partner client; a web session of the service's own realm (`default`) has none. */
  @Column({ name: 'client_id', type: 'varchar', length: 128, nullable: true })
  clientId!: string | null;

  /** Always for an app; a web session signed in with an email address only has none. */
  @Column({ name: 'phone_user_id', type: 'uuid', nullable: true })
  phoneUserId!: string | null;

  /** SHA-256 of the device token given at sign-in (apps). */
  @Column({ name: 'device_hash', type: 'bytea', nullable: true })
  deviceHash!: Buffer | null;

  /** SHA-256 of a web session's id (its cookie); the id itself is never stored. */
  @Column({ name: 'token_hash', type: 'bytea', nullable: true })
  tokenHash!: Buffer | null;

  /** The email address a web session signed in with (an email flow). */
  @Column({ type: 'varchar', length: 320, nullable: true })
  email!: string | null;

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
