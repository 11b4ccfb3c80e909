import { MigrationInterface, QueryRunner } from 'typeorm';
import { HotPathFunctions1763900400000 } from './1763900400000-hot-path-functions';

/** The functions of HotPathFunctions; from here on each lib keeps its functions in `.sql` files. */
const HOT_PATH_FUNCTIONS = [
  'otp_link_verified',
  'otp_count_wrong_code',
  'otp_verify_state',
  'otp_request_code',
  'otp_window',
  'otp_send_bucket',
  'link_state',
];

/**
 * The engine's schema: a code goes to a target (a phone, an email address, a Telegram chat) on a
 * channel, and every limit counts per target; the database functions move out of migrations.
 *
 * - Challenges, sends and failed verifies are keyed by `target` (was `phone_e164`), challenges
 *   and sends carry their channel, sends their number block as `target_block`.
 * - The audit trail keeps any target masked and keyed-hashed (`target_masked`, `target_hash`;
 *   the hash of a phone is unchanged, so earlier events are still found by phone).
 * - A link keeps whether its verify created the phone identity (`phone_user_created`), which a
 *   repeated verify answers; challenges no longer carry the link's answer.
 * - `schema_functions` records the checksum of each function applied from its `.sql` file; the
 *   migration runner (DataSourceWithFunctions) re-creates a function when its file changes.
 *
 * Renames, no copies: existing rows keep their values. Old instances cannot run against the new
 * schema (their functions are gone): stop them before migrating.
 */
export class EngineTargets1764900000000 implements MigrationInterface {
  name = 'EngineTargets1764900000000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    for (const name of HOT_PATH_FUNCTIONS) await queryRunner.query(`DROP FUNCTION ${name}`);

    await queryRunner.query(`ALTER TABLE "otp_challenges" RENAME COLUMN "phone_e164" TO "target"`);
    await queryRunner.query(
      `ALTER TABLE "otp_challenges" ALTER COLUMN "target" TYPE character varying(320)`,
    );
    await queryRunner.query(`
      ALTER TABLE "otp_challenges"
        ADD "target_kind" character varying(16) NOT NULL DEFAULT 'phone',
        ADD "channel" character varying(16) NOT NULL DEFAULT 'sms',
        ADD CONSTRAINT "ck_otp_challenges_target_kind"
          CHECK ("target_kind" IN ('phone', 'email', 'telegram')),
        ADD CONSTRAINT "ck_otp_challenges_channel"
          CHECK ("channel" IN ('sms', 'whatsapp', 'voice', 'email', 'telegram'))`);
    await queryRunner.query(
      `ALTER INDEX "ix_otp_challenges_user_phone" RENAME TO "ix_otp_challenges_owner_target"`,
    );

    await queryRunner.query(`ALTER TABLE "otp_sends" RENAME COLUMN "phone_e164" TO "target"`);
    await queryRunner.query(
      `ALTER TABLE "otp_sends" ALTER COLUMN "target" TYPE character varying(320)`,
    );
    await queryRunner.query(
      `ALTER TABLE "otp_sends" RENAME COLUMN "phone_prefix" TO "target_block"`,
    );
    await queryRunner.query(
      `ALTER TABLE "otp_sends" ADD "channel" character varying(16) NOT NULL DEFAULT 'sms'`,
    );
    await queryRunner.query(`ALTER INDEX "ix_otp_sends_phone" RENAME TO "ix_otp_sends_target"`);
    await queryRunner.query(`ALTER INDEX "ix_otp_sends_prefix" RENAME TO "ix_otp_sends_block"`);

    await queryRunner.query(
      `ALTER TABLE "otp_verify_failures" RENAME COLUMN "phone_e164" TO "target"`,
    );
    await queryRunner.query(
      `ALTER TABLE "otp_verify_failures" ALTER COLUMN "target" TYPE character varying(320)`,
    );
    await queryRunner.query(
      `ALTER INDEX "ix_otp_verify_failures_phone" RENAME TO "ix_otp_verify_failures_target"`,
    );

    await queryRunner.query(
      `ALTER TABLE "audit_events" RENAME COLUMN "phone_masked" TO "target_masked"`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" ALTER COLUMN "target_masked" TYPE character varying(128)`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" RENAME COLUMN "phone_hash" TO "target_hash"`,
    );
    await queryRunner.query(
      `ALTER INDEX "ix_audit_events_phone" RENAME TO "ix_audit_events_target"`,
    );

    // The answer of the verify that made a link moves from its challenge to the link.
    await queryRunner.query(
      `ALTER TABLE "links" ADD "phone_user_created" boolean NOT NULL DEFAULT false`,
    );
    await queryRunner.query(`
      UPDATE "links" l SET "phone_user_created" = c."result_is_new_user"
        FROM "otp_challenges" c
       WHERE c."id" = l."challenge_id" AND c."result_is_new_user"`);
    await queryRunner.query(`
      ALTER TABLE "otp_challenges"
        DROP COLUMN "result_phone_user_id",
        DROP COLUMN "result_is_new_user"`);

    await queryRunner.query(`
      CREATE TABLE "schema_functions" (
        "name" character varying(63) NOT NULL,
        "checksum" character(64) NOT NULL,
        "applied_at" TIMESTAMP WITH TIME ZONE NOT NULL DEFAULT now(),
        CONSTRAINT "pk_schema_functions" PRIMARY KEY ("name")
      )`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    // The functions applied from `.sql` files read the new schema: drop them first.
    const applied = (await queryRunner.query(`SELECT name FROM "schema_functions"`)) as Array<{
      name: string;
    }>;
    for (const { name } of applied) await queryRunner.query(`DROP FUNCTION IF EXISTS ${name}`);
    await queryRunner.query(`DROP TABLE "schema_functions"`);

    await queryRunner.query(`
      ALTER TABLE "otp_challenges"
        ADD "result_phone_user_id" uuid,
        ADD "result_is_new_user" boolean`);
    await queryRunner.query(`
      UPDATE "otp_challenges" c
         SET "result_phone_user_id" = l."phone_user_id",
             "result_is_new_user" = l."phone_user_created"
        FROM "links" l
       WHERE l."challenge_id" = c."id"`);
    await queryRunner.query(`ALTER TABLE "links" DROP COLUMN "phone_user_created"`);

    await queryRunner.query(
      `ALTER INDEX "ix_audit_events_target" RENAME TO "ix_audit_events_phone"`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" RENAME COLUMN "target_hash" TO "phone_hash"`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" ALTER COLUMN "target_masked" TYPE character varying(24)
         USING left("target_masked", 24)`,
    );
    await queryRunner.query(
      `ALTER TABLE "audit_events" RENAME COLUMN "target_masked" TO "phone_masked"`,
    );

    await queryRunner.query(
      `ALTER INDEX "ix_otp_verify_failures_target" RENAME TO "ix_otp_verify_failures_phone"`,
    );
    // Rows of other targets cannot be kept in a phone column.
    await queryRunner.query(`DELETE FROM "otp_verify_failures" WHERE "target" NOT LIKE '+%'`);
    await queryRunner.query(
      `ALTER TABLE "otp_verify_failures" ALTER COLUMN "target" TYPE character varying(16)`,
    );
    await queryRunner.query(
      `ALTER TABLE "otp_verify_failures" RENAME COLUMN "target" TO "phone_e164"`,
    );

    await queryRunner.query(`ALTER INDEX "ix_otp_sends_block" RENAME TO "ix_otp_sends_prefix"`);
    await queryRunner.query(`ALTER INDEX "ix_otp_sends_target" RENAME TO "ix_otp_sends_phone"`);
    await queryRunner.query(`ALTER TABLE "otp_sends" DROP COLUMN "channel"`);
    await queryRunner.query(
      `ALTER TABLE "otp_sends" RENAME COLUMN "target_block" TO "phone_prefix"`,
    );
    await queryRunner.query(`DELETE FROM "otp_sends" WHERE "target" NOT LIKE '+%'`);
    await queryRunner.query(
      `ALTER TABLE "otp_sends" ALTER COLUMN "target" TYPE character varying(16)`,
    );
    await queryRunner.query(`ALTER TABLE "otp_sends" RENAME COLUMN "target" TO "phone_e164"`);

    await queryRunner.query(
      `ALTER INDEX "ix_otp_challenges_owner_target" RENAME TO "ix_otp_challenges_user_phone"`,
    );
    await queryRunner.query(`
      ALTER TABLE "otp_challenges"
        DROP CONSTRAINT "ck_otp_challenges_channel",
        DROP CONSTRAINT "ck_otp_challenges_target_kind",
        DROP COLUMN "channel",
        DROP COLUMN "target_kind"`);
    await queryRunner.query(`DELETE FROM "otp_challenges" WHERE "target" NOT LIKE '+%'`);
    await queryRunner.query(
      `ALTER TABLE "otp_challenges" ALTER COLUMN "target" TYPE character varying(16)`,
    );
    await queryRunner.query(`ALTER TABLE "otp_challenges" RENAME COLUMN "target" TO "phone_e164"`);

    // The previous migration's functions, as it made them. Its counters table is derived data
    // (the last hour's sends per budget): it is made again from the sends, as that migration
    // made it.
    await queryRunner.query(`DROP TABLE "otp_send_counts"`);
    await queryRunner.query(`ALTER TABLE "otp_challenges" RESET (fillfactor)`);
    await new HotPathFunctions1763900400000().up(queryRunner);
  }
}
