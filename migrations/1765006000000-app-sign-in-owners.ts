import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The app sign-in's code owner was `phone:<E.164>`, and it reached the audit trail (kept for ever,
 * which holds no number in the clear) as the events' user id. The owner is now `phone:` and the
 * first 16 bytes of the phone's keyed hash in hex; the trail's older events get the same id from
 * their own target_hash (the same hash of the same number), so an operator's query by user id
 * finds old and new events alike. Messages still queued lose the id from their audit context
 * (their events keep the masked and hashed target). Challenges and sends keep their owner: they
 * hold the number for delivery anyway and are purged within hours; a sign-in in flight at the
 * upgrade asks for a new code.
 *
 * Not reverted: the numbers are not kept anywhere to put back.
 */
export class AppSignInOwners1765006000000 implements MigrationInterface {
  name = 'AppSignInOwners1765006000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `UPDATE "audit_events"
          SET "user_id" = CASE WHEN "target_hash" IS NOT NULL
                               THEN 'phone:' || encode(substring("target_hash" FROM 1 FOR 16), 'hex')
                          END
        WHERE "user_id" LIKE 'phone:+%'`,
    );
    await queryRunner.query(
      `UPDATE "outbox_messages" SET "audit" = "audit" - 'userId'
        WHERE "audit" ->> 'userId' LIKE 'phone:+%'`,
    );
  }

  public async down(): Promise<void> {
    // Nothing to undo: the new ids are what the code writes either way.
  }
}
