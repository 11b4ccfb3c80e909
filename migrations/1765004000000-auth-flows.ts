import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Websites' sign-in flows (issue 19, FLOWS.md): the flows in progress (`auth_flows`, kept in the
 * database so any instance continues any flow), and web sessions in the one session store: an
 * `app_sessions` row of kind 'web' is named by the hash of its cookie's id, belongs to a partner
 * client's realm or to none (`default`), and may have an email address instead of a phone
 * identity.
 */
export class AuthFlows1765004000000 implements MigrationInterface {
  name = 'AuthFlows1765004000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "auth_flows" (
        "id_hash" bytea NOT NULL,
        "realm" character varying(128) NOT NULL,
        "flow" character varying(64) NOT NULL,
        "modules" character varying(128) NOT NULL,
        "position" integer NOT NULL DEFAULT 0,
        "target" character varying(320),
        "target_kind" character varying(16),
        "challenge_id" uuid,
        "auth_code" character varying(15),
        "verified_phone" character varying(16),
        "verified_email" character varying(320),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_auth_flows" PRIMARY KEY ("id_hash")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_auth_flows_expires_at" ON "auth_flows" ("expires_at")`,
    );
    await queryRunner.query(`
      ALTER TABLE "app_sessions"
        ADD "kind" character varying(8) NOT NULL DEFAULT 'app',
        ADD "token_hash" bytea,
        ADD "email" character varying(320),
        ALTER COLUMN "client_id" DROP NOT NULL,
        ALTER COLUMN "phone_user_id" DROP NOT NULL,
        ALTER COLUMN "device_hash" DROP NOT NULL,
        ADD CONSTRAINT "uq_app_sessions_token_hash" UNIQUE ("token_hash"),
        ADD CONSTRAINT "ck_app_sessions_kind" CHECK (
          ("kind" = 'app' AND "client_id" IS NOT NULL AND "phone_user_id" IS NOT NULL
           AND "device_hash" IS NOT NULL AND "token_hash" IS NULL)
          OR ("kind" = 'web' AND "token_hash" IS NOT NULL AND "device_hash" IS NULL
           AND ("phone_user_id" IS NOT NULL OR "email" IS NOT NULL)))`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DELETE FROM "app_sessions" WHERE "kind" = 'web'`);
    await queryRunner.query(`
      ALTER TABLE "app_sessions"
        DROP CONSTRAINT "ck_app_sessions_kind",
        DROP CONSTRAINT "uq_app_sessions_token_hash",
        ALTER COLUMN "client_id" SET NOT NULL,
        ALTER COLUMN "phone_user_id" SET NOT NULL,
        ALTER COLUMN "device_hash" SET NOT NULL,
        DROP COLUMN "email",
        DROP COLUMN "token_hash",
        DROP COLUMN "kind"`);
    await queryRunner.query(`DROP TABLE "auth_flows"`);
  }
}
