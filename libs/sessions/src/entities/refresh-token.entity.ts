import { Column, Entity, Index, JoinColumn, ManyToOne, PrimaryColumn, Unique } from 'typeorm';
import { AppSession } from './app-session.entity';

/**
 * One refresh token of a session (its family), stored as a SHA-256 hash. It works once: its use
 * records when (`used_at`) and its successor, AES-GCM sealed under a key derived from this
 * token, so only its holder can read the successor back (a concurrent double refresh within the
 * grace window answers the same successor).
 */
@Entity({ name: 'session_refresh_tokens' })
@Unique('uq_session_refresh_tokens_hash', ['tokenHash'])
@Index('ix_session_refresh_tokens_session', ['sessionId'])
@Index('ix_session_refresh_tokens_expires_at', ['expiresAt'])
export class RefreshTokenRecord {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_session_refresh_tokens',
  })
  id!: string;

  @Column({ name: 'session_id', type: 'uuid' })
  sessionId!: string;

  @Column({ name: 'token_hash', type: 'bytea' })
  tokenHash!: Buffer;

  /** 1 for the token of the sign-in, one more at each rotation. */
  @Column({ type: 'integer' })
  generation!: number;

  @Column({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'expires_at', type: 'timestamptz' })
  expiresAt!: Date;

  @Column({ name: 'used_at', type: 'timestamptz', nullable: true })
  usedAt!: Date | null;

  @Column({ name: 'successor_sealed', type: 'bytea', nullable: true })
  successorSealed!: Buffer | null;

  @ManyToOne(() => AppSession, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'session_id', foreignKeyConstraintName: 'fk_session_refresh_tokens_session' })
  session?: AppSession;
}
