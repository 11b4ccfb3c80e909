import { MigrationInterface, QueryRunner } from 'typeorm';

/** App sign-in's old owner ids, and the clients that can sign users in (those with app keys). */
const APP_SIGN_IN_OWNER = String.raw`^phone:\+[1-9][0-9]{5,14}$`;
const APP_CLIENTS = `SELECT "client_id" FROM "partner_app_keys"`;

/**
 * The app sign-in's code owner was `phone:<E.164>`, and it reached the audit trail (kept for ever,
 * which holds no number in the clear) as the events' user id. The owner is now `phone:` and the
 * first 16 bytes of the phone's keyed hash in hex; the trail's older events get the same id from
 * their own target_hash (the same hash of the same number), so an operator's query by user id
 * finds old and new events alike. Messages still queued lose the id from their audit context
 * (their events keep the masked and hashed target). Only ids of app sign-in's shape (`phone:`
 * and an E.164 number) of clients that have app keys are touched: a partner may name its own
 * users anything. Challenges and sends keep their owner: they hold the number in their target
 * anyway (sends for hours; challenges until purged, a verified one for good); a sign-in in flight
 * at the upgrade asks for a new code.
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
        WHERE "user_id" ~ '${APP_SIGN_IN_OWNER}' AND "client_id" IN (${APP_CLIENTS})`,
    );
    await queryRunner.query(
      `UPDATE "outbox_messages" SET "audit" = "audit" - 'userId'
        WHERE "audit" ->> 'userId' ~ '${APP_SIGN_IN_OWNER}'
          AND "audit" ->> 'clientId' IN (${APP_CLIENTS})`,
    );
  }

  public async down(): Promise<void> {
    // Nothing to undo: the new ids are what the code writes either way.
  }
}
