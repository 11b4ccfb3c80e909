import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * App keys (issue 16): a partner client's publishable `x-api-key` for the app sign-in API,
 * stored as a SHA-256 hash (256 random bits: not guessable, so unkeyed is enough), with the
 * browser origins the client allows. Changes are announced like the registry's others
 * (`partner_clients_changed`), so every instance drops its cached keys at once.
 */
export class AppKeys1765002000000 implements MigrationInterface {
  name = 'AppKeys1765002000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "partner_app_keys" (
        "id" character varying(32) NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "key_hash" bytea NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'active',
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "retired_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "pk_partner_app_keys" PRIMARY KEY ("id"),
        CONSTRAINT "uq_partner_app_keys_hash" UNIQUE ("key_hash"),
        CONSTRAINT "ck_partner_app_keys_status" CHECK ("status" IN ('active', 'retired')),
        CONSTRAINT "fk_partner_app_keys_client" FOREIGN KEY ("client_id")
          REFERENCES "partner_clients"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_partner_app_keys_client" ON "partner_app_keys" ("client_id")`,
    );
    await queryRunner.query(
      `ALTER TABLE "partner_clients" ADD "allowed_origins" character varying(256) array`,
    );
    await queryRunner.query(
      `CREATE TRIGGER "tr_partner_app_keys_notify" AFTER INSERT OR UPDATE OR DELETE ON "partner_app_keys"
         FOR EACH ROW EXECUTE FUNCTION "partner_clients_notify"()`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "partner_app_keys"`);
    await queryRunner.query(`ALTER TABLE "partner_clients" DROP COLUMN "allowed_origins"`);
  }
}
