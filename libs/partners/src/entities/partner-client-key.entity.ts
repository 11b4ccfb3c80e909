import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  JoinColumn,
  ManyToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { PartnerClient } from './partner-client.entity';

export const KEY_ALGORITHMS = ['HS256', 'RS256', 'ES256'] as const;
export type KeyAlgorithm = (typeof KEY_ALGORITHMS)[number];
export type KeyStatus = 'active' | 'retired';

/**
 * One JWT key of a partner client, named by `kid`. Several may be active at once (rotation: the
 * new key and the old one both verify until the old is retired).
 */
@Entity({ name: 'partner_client_keys' })
@Unique('uq_partner_client_keys_kid', ['clientId', 'kid'])
@Check('ck_partner_client_keys_algorithm', `"algorithm" IN ('HS256', 'RS256', 'ES256')`)
@Check('ck_partner_client_keys_status', `"status" IN ('active', 'retired')`)
@Check(
  'ck_partner_client_keys_material',
  `("algorithm" = 'HS256') = ("secret_sealed" IS NOT NULL) AND ("algorithm" <> 'HS256') = ("public_key_pem" IS NOT NULL)`,
)
export class PartnerClientKey {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_partner_client_keys' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ type: 'varchar', length: 64 })
  kid!: string;

  @Column({ type: 'varchar', length: 8 })
  algorithm!: KeyAlgorithm;

  /** HS256: the shared secret, AES-GCM sealed (bound to client and kid). */
  @Column({ name: 'secret_sealed', type: 'bytea', nullable: true })
  secretSealed!: Buffer | null;

  /** RS256 / ES256: the partner's public key. */
  @Column({ name: 'public_key_pem', type: 'text', nullable: true })
  publicKeyPem!: string | null;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: KeyStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;

  @ManyToOne(() => PartnerClient, { onDelete: 'CASCADE' })
  @JoinColumn({ name: 'client_id', foreignKeyConstraintName: 'fk_partner_client_keys_client' })
  client?: PartnerClient;
}
