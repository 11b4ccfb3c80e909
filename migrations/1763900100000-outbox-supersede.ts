import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Outbox messages of one group (e.g. the codes of one challenge): a newer message supersedes the
 * older ones still pending, so a resend never lets a dead code arrive later.
 */
export class OutboxSupersede1763900100000 implements MigrationInterface {
  name = 'OutboxSupersede1763900100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`ALTER TABLE "outbox_messages" ADD "group_key" character varying(64)`);
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" DROP CONSTRAINT "ck_outbox_messages_status"`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" ADD CONSTRAINT "ck_outbox_messages_status"
         CHECK ("status" IN ('pending', 'sent', 'failed', 'expired', 'superseded'))`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_group_pending" ON "outbox_messages" ("group_key") WHERE "status" = 'pending'`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_group_pending"`);
    await queryRunner.query(
      `UPDATE "outbox_messages" SET "status" = 'expired' WHERE "status" = 'superseded'`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" DROP CONSTRAINT "ck_outbox_messages_status"`,
    );
    await queryRunner.query(
      `ALTER TABLE "outbox_messages" ADD CONSTRAINT "ck_outbox_messages_status"
         CHECK ("status" IN ('pending', 'sent', 'failed', 'expired'))`,
    );
    await queryRunner.query(`ALTER TABLE "outbox_messages" DROP COLUMN "group_key"`);
  }
}
