import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Per-phone failed verifies across challenges, and the number block (prefix) of each send for
 * the velocity limit against sequential-number floods.
 */
export class AbuseLimits1763900200000 implements MigrationInterface {
  name = 'AbuseLimits1763900200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE "otp_verify_failures" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "phone_e164" character varying(16) NOT NULL,
        "challenge_id" uuid NOT NULL,
        "failed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_otp_verify_failures" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_otp_verify_failures_phone" ON "otp_verify_failures" ("phone_e164", "failed_at")`,
    );
    await queryRunner.query(
      `ALTER TABLE "otp_sends" ADD "phone_prefix" character varying(16) NOT NULL DEFAULT ''`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_sends_prefix" ON "otp_sends" ("phone_prefix", "sent_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_otp_sends_prefix"`);
    await queryRunner.query(`ALTER TABLE "otp_sends" DROP COLUMN "phone_prefix"`);
    await queryRunner.query(`DROP TABLE "otp_verify_failures"`);
  }
}
