import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Fallback between channels (issue 17, CHANNELS.md): the messages of a code's fallback chain are
 * written with the first one, `held`, each naming the message it falls back from (`after_id`).
 * When that message fails for good, the same statement that records the failure releases the
 * next one (`pending`); when it is delivered (or superseded, or expired) the held ones are
 * superseded. Written in the code's own transaction, a crash between two channels loses nothing.
 *
 * Delivery receipts (Twilio's StatusCallback): the provider's latest status of a message and
 * its time (`delivery_status`, `delivery_status_at`), found by the provider's id.
 */
export class ChannelFallback1764990000000 implements MigrationInterface {
  name = 'ChannelFallback1764990000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox_messages" ADD "after_id" uuid`);
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" DROP CONSTRAINT "ck_outbox_messages_status"`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" ADD CONSTRAINT "ck_outbox_messages_status"
         CHECK ("status" IN ('pending', 'sent', 'failed', 'expired', 'superseded', 'held'))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_after_held" ON "outbox_messages" ("after_id")
         WHERE "status" = 'held'`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" ADD "delivery_status" character varying(16)`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" ADD "delivery_status_at" TIMESTAMP WITH TIME ZONE`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_provider_message_id" ON "outbox_messages"
         ("provider_message_id") WHERE "provider_message_id" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_provider_message_id"`);
    await queryRunner.query(`ALTER TABLE "outbox_messages" DROP COLUMN "delivery_status_at"`);
    await queryRunner.query(`ALTER TABLE "outbox_messages" DROP COLUMN "delivery_status"`);
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_after_held"`);
    await queryRunner.query(
      `UPDATE "outbox_messages" SET "status" = 'superseded', "payload" = NULL WHERE "status" = 'held'`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" DROP CONSTRAINT "ck_outbox_messages_status"`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" ADD CONSTRAINT "ck_outbox_messages_status"
         CHECK ("status" IN ('pending', 'sent', 'failed', 'expired', 'superseded'))`,
    );
    await queryRunner.query(`ALTER TABLE "outbox_messages" DROP COLUMN "after_id"`);
  }
}
