import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The partner registry: clients with their JWT keys, settings and API secret hash. A trigger
 * announces every change on the `partner_clients_changed` channel, so each instance drops its
 * cached copy of that client at once, whoever made the change (CLI, admin API, plain SQL).
 *
 * Also: the audit trail gets the actor of an event and a keyed hash of the phone (operators look
 * events up by phone without the trail keeping numbers in the clear); sends get an index for the
 * per-client hourly budget.
 */
export class PartnerRegistry1763900300000 implements MigrationInterface {
  name = 'PartnerRegistry1763900300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "partner_clients" (
        "id" character varying(128) NOT NULL,
        "name" character varying(100) NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'active',
        "allowed_country_codes" character varying(4)[],
        "hourly_send_budget" integer,
        "sender_name" character varying(30),
        "message_template" character varying(320),
        "api_secret_hash" bytea NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_partner_clients" PRIMARY KEY ("id"),
        CONSTRAINT "ck_partner_clients_status" CHECK ("status" IN ('active', 'suspended')),
        CONSTRAINT "ck_partner_clients_budget" CHECK ("hourly_send_budget" > 0)
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_partner_clients_created" ON "partner_clients" ("created_at", "id")`,
    );
    await queryRunner.query(`
      CREATE TABLE "partner_client_keys" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "client_id" character varying(128) NOT NULL,
        "kid" character varying(64) NOT NULL,
        "algorithm" character varying(8) NOT NULL,
        "secret_sealed" bytea,
        "public_key_pem" text,
        "status" character varying(16) NOT NULL DEFAULT 'active',
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "retired_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "pk_partner_client_keys" PRIMARY KEY ("id"),
        CONSTRAINT "uq_partner_client_keys_kid" UNIQUE ("client_id", "kid"),
        CONSTRAINT "fk_partner_client_keys_client" FOREIGN KEY ("client_id")
          REFERENCES "partner_clients"("id") ON DELETE CASCADE,
        CONSTRAINT "ck_partner_client_keys_algorithm" CHECK ("algorithm" IN ('HS256', 'RS256', 'ES256')),
        CONSTRAINT "ck_partner_client_keys_status" CHECK ("status" IN ('active', 'retired')),
        CONSTRAINT "ck_partner_client_keys_material" CHECK (
          ("algorithm" = 'HS256') = ("secret_sealed" IS NOT NULL)
          AND ("algorithm" <> 'HS256') = ("public_key_pem" IS NOT NULL))
      )`);
    await queryRunner.query(`
      CREATE FUNCTION "partner_clients_notify"() RETURNS trigger LANGUAGE plpgsql AS $$
      DECLARE
        changed varchar;
      BEGIN
        IF TG_TABLE_NAME = 'partner_clients' THEN
          changed := COALESCE(NEW.id, OLD.id);
        ELSE
          changed := COALESCE(NEW.client_id, OLD.client_id);
        END IF;
        PERFORM pg_notify('partner_clients_changed', changed);
        RETURN NULL;
      END $$`);
    for (const table of ['partner_clients', 'partner_client_keys']) {
      await queryRunner.query(
        `CREATE TRIGGER "tr_${table}_notify" AFTER INSERT OR UPDATE OR DELETE ON "${table}"
           FOR EACH ROW EXECUTE FUNCTION "partner_clients_notify"()`,
      );
    }

    await queryRunner.query(
      `CREATE INDEX "ix_otp_sends_client" ON "otp_sends" ("client_id", "sent_at")`,
    );

    await queryRunner.query(`ALTER TABLE "audit_events" ADD "actor" character varying(16)`);
    await queryRunner.query(`ALTER TABLE "audit_events" ADD "phone_hash" bytea`);
    await queryRunner.query(
      `CREATE INDEX "ix_audit_events_phone" ON "audit_events" ("phone_hash", "created_at")
         WHERE "phone_hash" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_audit_events_phone"`);
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "phone_hash"`);
    await queryRunner.query(`ALTER TABLE "audit_events" DROP COLUMN "actor"`);
    await queryRunner.query(`DROP INDEX "ix_otp_sends_client"`);
    await queryRunner.query(`DROP TABLE "partner_client_keys"`);
    await queryRunner.query(`DROP TABLE "partner_clients"`);
    await queryRunner.query(`DROP FUNCTION "partner_clients_notify"()`);
  }
}
