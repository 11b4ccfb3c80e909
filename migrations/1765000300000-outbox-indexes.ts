import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A resend supersedes its group's pending and held messages, and a verified code cancels them:
 * both look a group up by `status IN ('pending', 'held')`, which the index of pending messages
 * alone could not serve (a scan of the whole outbox under the register's locks). And the call
 * cap counts the calls written as fallbacks: an index of those rows only.
 */
export class OutboxIndexes1765000300000 implements MigrationInterface {
  name = 'OutboxIndexes1765000300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_group_live" ON "outbox_messages" ("group_key")
        WHERE "status" IN ('pending', 'held')`,
    );
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_group_pending"`);
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_call_fallbacks" ON "outbox_messages" ("recipient", "created_at")
        WHERE "channel" = 'voice' AND "after_id" IS NOT NULL`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_call_fallbacks"`);
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_group_pending" ON "outbox_messages" ("group_key")
        WHERE "status" = 'pending'`,
    );
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_group_live"`);
  }
}
