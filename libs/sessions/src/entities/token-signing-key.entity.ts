import { Check, Column, CreateDateColumn, Entity, PrimaryColumn } from 'typeorm';

export type SigningKeyStatus = 'active' | 'retiring' | 'retired';

/**
 * A generated key that signs our tokens (development, when TOKEN_SIGNING_KEYS is not set): the
 * P-256 private key, PKCS#8 DER, sealed with a key derived from OTP_SECRET and bound to its kid.
 * 'retiring' keys are still published in the JWKS (their tokens verify); 'retired' ones are not.
 */
@Entity({ name: 'token_signing_keys' })
@Check('ck_token_signing_keys_status', `"status" IN ('active', 'retiring', 'retired')`)
export class TokenSigningKey {
  @PrimaryColumn({ type: 'varchar', length: 64, primaryKeyConstraintName: 'pk_token_signing_keys' })
  kid!: string;

  @Column({ name: 'private_key_sealed', type: 'bytea' })
  privateKeySealed!: Buffer;

  @Column({ type: 'varchar', length: 16, default: 'active' })
  status!: SigningKeyStatus;

  @CreateDateColumn({ name: 'created_at', type: 'timestamptz' })
  createdAt!: Date;

  @Column({ name: 'retired_at', type: 'timestamptz', nullable: true })
  retiredAt!: Date | null;
}
