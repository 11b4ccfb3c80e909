import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  PrimaryColumn,
  Unique,
} from 'typeorm';
import { PartnerClient } from './partner-client.entity';
import type { KeyStatus } from './partner-client-key.entity';

/**
 * A publishable app key of a partner client (`x-api-key` of the app sign-in API, APP-AUTH.md).
 * It ships inside apps, so it names the client and proves nothing else; only its SHA-256 is
 * kept. Several may be active (rotation: the new one ships while the old still works).
 */
@Entity({ name: 'partner_app_keys' })
@Unique('uq_partner_app_keys_hash', ['keyHash'])
@Check('ck_partner_app_keys_status', `"status" IN ('active', 'retired')`)
@Index('ix_partner_app_keys_client', ['clientId'])
export class PartnerAppKey {
  /** Its public id (`ak_…`), what operators list and retire; not the key. */
  @PrimaryColumn({ type: 'varchar', length: 32, primaryKeyConstraintName: 'pk_partner_app_keys' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'key_hash', type: 'bytea' })
  keyHash!: Buffer;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: KeyStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;

  @ManyToOne(() => PartnerClient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_id', foreignKeyConstraintName: 'fk_partner_app_keys_client' })
  client?: PartnerClient;
}
