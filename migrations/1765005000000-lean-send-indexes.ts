import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Two indexes whose only job made every send and link probe dearer, and whose presence sent a
 * fresh install down a slow path: on empty tables the planner cannot tell (client, time) from
 * (client, user, time) for a user's hourly count, and the plan it keeps in each pooled session
 * read the whole client's sends for every register. Measured with pgbench on a freshly migrated
 * database: the register function fell from 847 to 295 tps over its first 40 s; without the
 * index it stays between 1 000 and 1 240.
 *
 * A client's exact count (only near its hourly budget) now reads the (client, user, time)
 * index's client prefix: at most the 2 hours of sends kept, the same order as before.
 */
export class LeanSendIndexes1765005000000 implements MigrationInterface {
  name = 'LeanSendIndexes1765005000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP INDEX "ix_otp_sends_client"`);
    await queryRunner.query(`DROP INDEX "ix_link_probes_client"`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `CREATE INDEX "ix_link_probes_client" ON "link_probes" ("client_id", "probed_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_otp_sends_client" ON "otp_sends" ("client_id", "sent_at")`,
    );
  }
}
