import {
  Column,
  CreateDateColumn,
  Entity,
  PrimaryGeneratedColumn,
  Unique,
  UpdateDateColumn,
} from 'typeorm';

/** A partner studio's user, as named by its token (client id + user id). */
@Entity({ name: 'third_party_users' })
@Unique('uq_third_party_users_client_user', ['clientId', 'userId'])
export class ThirdPartyUserRecord {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_third_party_users' })
  id!: string;

  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  @Column({ name: 'user_id', type: 'varchar', length: 256 })
  userId!: string;

  @Column({ name: 'client_name', type: 'varchar', length: 256, nullable: true })
  clientName!: string | null;

  @Column({ name: 'wallet_address', type: 'varchar', length: 256, nullable: true })
  walletAddress!: string | null;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
