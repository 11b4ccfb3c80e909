import { Column, Entity, Index, PrimaryColumn } from 'typeorm';

/**
 * A phone found linked to another user of the same client (a 409 that tells the asker something
 * about someone else): counted per user and per client, for an hour (link_count_probe).
 */
@Entity({ name: 'link_probes' })
@Index('ix_link_probes_user', ['clientId', 'userId', 'probedAt'])
@Index('ix_link_probes_probed_at', ['probedAt'])
export class LinkProbeRecord {
  @PrimaryColumn({
    type: 'bigint',
    generatedIdentity: 'ALWAYS',
    generated: 'identity',
    primaryKeyConstraintName: 'pk_link_probes',
  })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 256 })
  userId!: string;

  @Column({ name: 'probed_at', type: 'timestamptz' })
  probedAt!: Date;
}
