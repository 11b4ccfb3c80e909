import {
  Column,
  CreateDateColumn,
  Entity,
  Index,
  JoinColumn,
  ManyToOne,
  OneToOne,
  PrimaryGeneratedColumn,
  Unique,
} from 'typeorm';
import { PhoneUser } from './phone-user.entity';
import { ThirdPartyUserRecord } from './third-party-user.entity';

/**
 * A partner user linked to a phone identity. The two unique constraints are the linking rules
 * of spec §4; their names map to ACCOUNT_ALREADY_LINKED and PHONE_ALREADY_LINKED.
 */
@Entity({ name: 'links' })
@Unique('uq_links_third_party_user', ['thirdPartyUserId'])
@Unique('uq_links_client_phone', ['clientId', 'phoneUserId'])
@Index('ix_links_phone_user', ['phoneUserId'])
export class Link {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_links' })
  id!: string;

  @Column({ name: 'third_party_user_id', type: 'uuid' })
  thirdPartyUserId!: string;

  @Column({ name: 'phone_user_id', type: 'uuid' })
  phoneUserId!: string;

  /** Denormalised from the third-party user so "one phone per client" is a plain unique constraint. */
  @Column({ name: 'client_id', type: 'varchar', length: 128 })
  clientId!: string;

  /** The challenge whose verify made this link (answers a repeated verify idempotently). */
  @Column({ name: 'challenge_id', type: 'uuid', nullable: true })
  challengeId!: string | null;

  /** Whether that verify created the phone identity (a repeated verify answers it again). */
  @Column({ name: 'phone_user_created', type: 'boolean', default: false })
  phoneUserCreated!: boolean;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @OneToOne(() => ThirdPartyUserRecord, { onDelete: 'CASCADE' })
  @JoinColumn({
    name: 'third_party_user_id',
    foreignKeyConstraintName: 'fk_links_third_party_user',
  })
  thirdPartyUser?: ThirdPartyUserRecord;

  @ManyToOne(() => PhoneUser, { onDelete: 'RESTRICT' })
  @JoinColumn({ name: 'phone_user_id', foreignKeyConstraintName: 'fk_links_phone_user' })
  phoneUser?: PhoneUser;
}
