import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Keys that sign our tokens when TOKEN_SIGNING_KEYS is not set (development): generated once,
 * kept AES-GCM sealed (key derived from OTP_SECRET, bound to the kid), so restarts and every
 * instance sign with the same key and the JWKS stays stable.
 */
export class TokenSigningKeys1765000100000 implements MigrationInterface {
  name = 'TokenSigningKeys1765000100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "token_signing_keys" (
        "kid" character varying(64) NOT NULL,
        "private_key_sealed" bytea NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'active',
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "retired_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "pk_token_signing_keys" PRIMARY KEY ("kid"),
        CONSTRAINT "ck_token_signing_keys_status" CHECK ("status" IN ('active', 'retiring', 'retired'))
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "token_signing_keys"`);
  }
}
