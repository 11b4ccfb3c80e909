import {
  Check,
  Column,
  CreateDateColumn,
  Entity,
  Index,
  PrimaryColumn,
  UpdateDateColumn,
} from 'typeorm';

export const CLIENT_STATUSES = ['active', 'suspended'] as const;
export type ClientStatus = (typeof CLIENT_STATUSES)[number];

/**
 * A partner studio registered with the service. Its id is the `third_party_client_id` of its
 * tokens; a token of a registered client is verified with that client's keys only.
 */
@Entity({ name: 'partner_clients' })
@Index('ix_partner_clients_created', ['createdAt', 'id'])
@Check('ck_partner_clients_status', `"status" IN ('active', 'suspended')`)
@Check('ck_partner_clients_budget', `"hourly_send_budget" > 0`)
export class PartnerClient {
  @PrimaryColumn({ type: 'varchar', length: 128, primaryKeyConstraintName: 'pk_partner_clients' })
  id!: string;

  @Column({ type: 'varchar', length: 100 })
  name!: string;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: ClientStatus;

  /** Country calling codes its users may register; null: the service's ALLOWED_COUNTRY_CODES. */
  @Column({
    name: 'allowed_country_codes',
    type: 'varchar',
    length: 4,
    array: true,
    nullable: true,
  })
  allowedCountryCodes!: string[] | null;

  /** Browser origins its app keys may be used from (`Origin`, when sent); null: any. */
  @Column({
    name: 'allowed_origins',
    type: 'varchar',
    length: 256,
    array: true,
    nullable: true,
  })
  allowedOrigins!: string[] | null;

  /** Codes sent per hour for all its users together; null: only the service-wide limits. */
  @Column({ name: 'hourly_send_budget', type: 'integer', nullable: true })
  hourlySendBudget!: number | null;

  /** The app name in its SMS text; null: the token's `third_party_client_name`. */
  @Column({ name: 'sender_name', type: 'varchar', length: 30, nullable: true })
  senderName!: string | null;

  /** Its own SMS text with {code}, {app} and {minutes} placeholders; null: the standard text. */
  @Column({ name: 'message_template', type: 'varchar', length: 320, nullable: true })
  messageTemplate!: string | null;

  /** Its texts per locale (`hi`, `es-MX`), before `message_template`; null: none. */
  @Column({ name: 'message_templates', type: 'jsonb', nullable: true })
  messageTemplates!: Record<string, string> | null;

  /** Its Android app's SMS Retriever hash (11 characters), the last line of its SMS. */
  @Column({ name: 'android_app_hash', type: 'varchar', length: 11, nullable: true })
  androidAppHash!: string | null;

  /** SHA-256 of the API secret of the server-to-server API (the secret is shown once). */
  @Column({ name: 'api_secret_hash', type: 'bytea' })
  apiSecretHash!: Buffer;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @UpdateDateColumn({ name: 'updated_at', type: 'timestamptz' })
  updatedAt!: Date;
}
