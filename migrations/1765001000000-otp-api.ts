import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The OTP API for backends (issue 18, OTP-API.md): the passwords partner backends create (each
 * its own row: several may be live for one target, each with its own lifetime), the clients'
 * own limits per channel, and the wrong guesses of `GET /target` (they count toward the IP
 * limits).
 */
export class OtpApi1765001000000 implements MigrationInterface {
  name = 'OtpApi1765001000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "otp_api_codes" (
        "id" uuid NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "channel" character varying(16) NOT NULL,
        "target" character varying(320) NOT NULL,
        "code_hash" bytea NOT NULL,
        "ip" character varying(64),
        "wrong_checks" integer NOT NULL DEFAULT 0,
        "created_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "expires_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        "verified_at" TIMESTAMP WITH TIME ZONE,
        CONSTRAINT "pk_otp_api_codes" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_otp_api_codes_target" ON "otp_api_codes" ("client_id", "channel", "target", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_api_codes_hash" ON "otp_api_codes" ("client_id", "channel", "code_hash")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_api_codes_ip" ON "otp_api_codes" ("client_id", "channel", "ip", "created_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_api_codes_expires_at" ON "otp_api_codes" ("expires_at")`,
    );
    await queryRunner.query(`
      CREATE TABLE "otp_api_limits" (
        "client_id" character varying(128) NOT NULL,
        "channel" character varying(16) NOT NULL,
        "ips" jsonb NOT NULL,
        "targets" jsonb NOT NULL,
        "updated_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_otp_api_limits" PRIMARY KEY ("client_id", "channel")
      )`);
    await queryRunner.query(`
      CREATE TABLE "otp_api_guesses" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "channel" character varying(16) NOT NULL,
        "ip" character varying(64) NOT NULL,
        "guessed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_otp_api_guesses" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_otp_api_guesses_ip" ON "otp_api_guesses" ("client_id", "channel", "ip", "guessed_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_api_guesses_guessed_at" ON "otp_api_guesses" ("guessed_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "otp_api_guesses"`);
    await queryRunner.query(`DROP TABLE "otp_api_limits"`);
    await queryRunner.query(`DROP TABLE "otp_api_codes"`);
  }
}
