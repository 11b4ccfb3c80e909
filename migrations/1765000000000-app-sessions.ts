import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * App sign-in (issue 16): a session of a partner client's app for one phone identity on one
 * device, and its refresh tokens. Each refresh token works once: using it records its successor
 * (sealed under the used token), so a repeat within the grace window answers the same successor
 * and a later repeat is detected as reuse. Tokens are stored only as SHA-256 hashes.
 */
export class AppSessions1765000000000 implements MigrationInterface {
  name = 'AppSessions1765000000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "app_sessions" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "client_id" character varying(128) NOT NULL,
        "phone_user_id" uuid NOT NULL,
        "device_hash" bytea NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "refreshed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "ended_at" TIMESTAMP WITH TIME ZONE,
        "end_reason" character varying(32),
        CONSTRAINT "pk_app_sessions" PRIMARY KEY ("id"),
        CONSTRAINT "ck_app_sessions_ended" CHECK (("ended_at" IS NULL) = ("end_reason" IS NULL)),
        CONSTRAINT "fk_app_sessions_client" FOREIGN KEY ("client_id")
          REFERENCES "partner_clients"("id") ON DELETE CASCADE,
        CONSTRAINT "fk_app_sessions_phone_user" FOREIGN KEY ("phone_user_id")
          REFERENCES "phone_users"("id") ON DELETE RESTRICT
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_app_sessions_phone_user" ON "app_sessions" ("phone_user_id", "client_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_app_sessions_client" ON "app_sessions" ("client_id", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_app_sessions_expires_at" ON "app_sessions" ("expires_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_app_sessions_ended_at" ON "app_sessions" ("ended_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "session_refresh_tokens" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "session_id" uuid NOT NULL,
        "token_hash" bytea NOT NULL,
        "generation" integer NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "used_at" TIMESTAMP WITH TIME ZONE,
        "successor_sealed" bytea,
        CONSTRAINT "pk_session_refresh_tokens" PRIMARY KEY ("id"),
        CONSTRAINT "uq_session_refresh_tokens_hash" UNIQUE ("token_hash"),
        CONSTRAINT "fk_session_refresh_tokens_session" FOREIGN KEY ("session_id")
          REFERENCES "app_sessions"("id") ON DELETE CASCADE
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_session_refresh_tokens_session" ON "session_refresh_tokens" ("session_id")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_session_refresh_tokens_expires_at" ON "session_refresh_tokens" ("expires_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "session_refresh_tokens"`);
    await queryRunner.query(`DROP TABLE "app_sessions"`);
  }
}
