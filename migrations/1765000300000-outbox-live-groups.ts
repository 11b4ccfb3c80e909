import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A resend supersedes its group's pending and held messages, and a verified code cancels them:
 * both look a group up by `status IN ('pending', 'held')`, which the index of pending messages
 * alone could not serve (a scan of the whole outbox under the register's locks).
 */
export class OutboxLiveGroups1765000300000 implements MigrationInterface {
  name = 'OutboxLiveGroups1765000300000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_group_live" ON "outbox_messages" ("group_key")
        WHERE "status" IN ('pending', 'held')`,
    );
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_group_pending"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "ix_outbox_messages_group_pending" ON "outbox_messages" ("group_key")
        WHERE "status" = 'pending'`,
    );
    await queryRunner.query(`DROP INDEX "ix_outbox_messages_group_live"`);
  }
}
