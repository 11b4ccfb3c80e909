import { MigrationInterface, QueryRunner } from 'typeorm';

/** Phone identities, partner users and their links; OTP challenges and sends; outbox; audit. */
export class InitialSchema1763900000000 implements MigrationInterface {
  name = 'InitialSchema1763900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "phone_users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "phone_e164" character varying(16) NOT NULL,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "uq_phone_users_phone" UNIQUE ("phone_e164"),
        CONSTRAINT "pk_phone_users" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`
      CREATE TABLE "third_party_users" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "client_id" character varying(128) NOT NULL,
        "user_id" character varying(256) NOT NULL,
        "client_name" character varying(256),
        "wallet_address" character varying(256),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "uq_third_party_users_client_user" UNIQUE ("client_id", "user_id"),
        CONSTRAINT "pk_third_party_users" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(`
      CREATE TABLE "links" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "third_party_user_id" uuid NOT NULL,
        "phone_user_id" uuid NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "challenge_id" uuid,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "uq_links_third_party_user" UNIQUE ("third_party_user_id"),
        CONSTRAINT "uq_links_client_phone" UNIQUE ("client_id", "phone_user_id"),
        CONSTRAINT "pk_links" PRIMARY KEY ("id"),
        CONSTRAINT "fk_links_third_party_user" FOREIGN KEY ("third_party_user_id")
          REFERENCES "third_party_users"("id") ON DELETE CASCADE,
        CONSTRAINT "fk_links_phone_user" FOREIGN KEY ("phone_user_id")
          REFERENCES "phone_users"("id") ON DELETE RESTRICT
      )`);
    await queryRunner.query(`CREATE INDEX "ix_links_phone_user" ON "links" ("phone_user_id")`);

    await queryRunner.query(`
      CREATE TABLE "otp_challenges" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "client_id" character varying(128) NOT NULL,
        "user_id" character varying(256) NOT NULL,
        "phone_e164" character varying(16) NOT NULL,
        "auth_code" character varying(15) NOT NULL,
        "code_hash" bytea NOT NULL,
        "status" character varying(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "send_count" integer NOT NULL DEFAULT 1,
        "last_sent_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "verified_at" TIMESTAMP WITH TIME ZONE,
        "result_phone_user_id" uuid,
        "result_is_new_user" boolean,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "ck_otp_challenges_status" CHECK ("status" IN ('pending', 'verified', 'locked')),
        CONSTRAINT "pk_otp_challenges" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_otp_challenges_user_phone" ON "otp_challenges" ("client_id", "user_id", "phone_e164")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_challenges_expires_at" ON "otp_challenges" ("expires_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "otp_sends" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "challenge_id" uuid NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "user_id" character varying(256) NOT NULL,
        "phone_e164" character varying(16) NOT NULL,
        "sent_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_otp_sends" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_otp_sends_phone" ON "otp_sends" ("phone_e164", "sent_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_sends_user" ON "otp_sends" ("client_id", "user_id", "sent_at")`,
    );
    await queryRunner.query(`CREATE INDEX "ix_otp_sends_sent_at" ON "otp_sends" ("sent_at")`);

    await queryRunner.query(`
      CREATE TABLE "outbox_messages" (
        "id" uuid NOT NULL DEFAULT gen_random_uuid(),
        "channel" character varying(16) NOT NULL,
        "recipient" character varying(320) NOT NULL,
        "payload" bytea,
        "status" character varying(16) NOT NULL DEFAULT 'pending',
        "attempts" integer NOT NULL DEFAULT 0,
        "next_attempt_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "last_error" character varying(500),
        "provider_message_id" character varying(64),
        "audit" jsonb NOT NULL DEFAULT '{}',
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        "sent_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "ck_outbox_messages_status" CHECK ("status" IN ('pending', 'sent', 'failed', 'expired')),
        CONSTRAINT "pk_outbox_messages" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_due" ON "outbox_messages" ("next_attempt_at") WHERE "status" = 'pending'`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_created_at" ON "outbox_messages" ("created_at")`,
    );

    await queryRunner.query(`
      CREATE TABLE "audit_events" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "event" character varying(32) NOT NULL,
        "client_id" character varying(128),
        "user_id" character varying(256),
        "phone_masked" character varying(24),
        "ip" character varying(64),
        "challenge_id" uuid,
        "detail" character varying(500),
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_audit_events" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_audit_events_user" ON "audit_events" ("client_id", "user_id", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_audit_events_created_at" ON "audit_events" ("created_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "audit_events"`);
    await queryRunner.query(`DROP TABLE "outbox_messages"`);
    await queryRunner.query(`DROP TABLE "otp_sends"`);
    await queryRunner.query(`DROP TABLE "otp_challenges"`);
    await queryRunner.query(`DROP TABLE "links"`);
    await queryRunner.query(`DROP TABLE "third_party_users"`);
    await queryRunner.query(`DROP TABLE "phone_users"`);
  }
}
