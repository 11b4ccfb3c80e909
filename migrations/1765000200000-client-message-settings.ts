import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A partner client's texts per locale (its `message_template` stays the text for every other
 * locale) and its Android SMS Retriever app hash, so its app can read the code by itself.
 */
export class ClientMessageSettings1765000200000 implements MigrationInterface {
  name = 'ClientMessageSettings1765000200000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "partner_clients"
        ADD COLUMN "message_templates" jsonb,
        ADD COLUMN "android_app_hash" character varying(11)`);
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      ALTER TABLE "partner_clients" DROP COLUMN "android_app_hash", DROP COLUMN "message_templates"`);
  }
}
