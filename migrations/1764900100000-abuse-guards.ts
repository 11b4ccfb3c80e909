import { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What the hostile review of the running service asked for (issue 13):
 *
 * - the pumping guard counts, per region and number block, the codes verified beside the codes
 *   sent: `otp_send_counts.verified`, in the same 5-minute buckets;
 * - a phone found linked to another user of the client (409) is a link probe, counted per user
 *   and per client: `link_probes`.
 */
export class AbuseGuards1764900100000 implements MigrationInterface {
  name = 'AbuseGuards1764900100000';

  public async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(
      `ALTER TABLE "otp_send_counts" ADD "verified" integer NOT NULL DEFAULT 0`,
    );
    await queryRunner.query(`
      CREATE TABLE "link_probes" (
        "id" bigint GENERATED ALWAYS AS IDENTITY NOT NULL,
        "client_id" character varying(128) NOT NULL,
        "user_id" character varying(256) NOT NULL,
        "probed_at" TIMESTAMP WITH TIME ZONE NOT NULL,
        CONSTRAINT "pk_link_probes" PRIMARY KEY ("id")
      )`);
    await queryRunner.query(
      `CREATE INDEX "ix_link_probes_user" ON "link_probes" ("client_id", "user_id", "probed_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_link_probes_client" ON "link_probes" ("client_id", "probed_at")`,
    );
    await queryRunner.query(
      `CREATE INDEX "ix_link_probes_probed_at" ON "link_probes" ("probed_at")`,
    );
  }

  public async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`DROP TABLE "link_probes"`);
    await queryRunner.query(`ALTER TABLE "otp_send_counts" DROP COLUMN "verified"`);
  }
}
