import { Column, CreateDateColumn, Entity, PrimaryGeneratedColumn, Unique } from 'typeorm';

/** A verified phone identity; one per E.164 number. */
@Entity({ name: 'phone_users' })
@Unique('uq_phone_users_phone', ['phoneE164'])
export class PhoneUser {
  @PrimaryGeneratedColumn('uuid', { primaryKeyConstraintName: 'pk_phone_users' })
  id!: string;

  @Column({ name: 'phone_e164', type: 'varchar', length: 16 })
  phoneE164!: string;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;
}
