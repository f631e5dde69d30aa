import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * EARN points per member and UTC day: tier qualification ("EARN points of the last 12 months")
 * sums at most 366 small rows instead of a member's whole earning history.
 */
export class EarnDays1763800000002 implements MigrationInterface {
  name = 'EarnDays1763800000002';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE earn_days (
        tenant text NOT NULL,
        member_id uuid NOT NULL REFERENCES members (id),
        day date NOT NULL,
        points integer NOT NULL,
        PRIMARY KEY (member_id, day)
      );
      INSERT INTO earn_days (tenant, member_id, day, points)
        SELECT tenant, member_id, (created_at AT TIME ZONE 'UTC')::date, sum(points)
        FROM ledger_entries WHERE type = 'EARN' GROUP BY 1, 2, 3;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE earn_days');
  }
}
