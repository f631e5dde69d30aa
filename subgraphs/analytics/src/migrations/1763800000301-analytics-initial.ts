import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Daily per-tenant aggregates: the read model reports are answered from (pre-aggregated, never a
 * scan of events per request). The event consumer that fills it comes with the analytics reports.
 */
export class AnalyticsInitial1763800000301 implements MigrationInterface {
  name = 'AnalyticsInitial1763800000301';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE daily_stats (
        tenant text NOT NULL,
        day date NOT NULL,
        members_enrolled integer NOT NULL DEFAULT 0,
        points_issued bigint NOT NULL DEFAULT 0,
        points_redeemed bigint NOT NULL DEFAULT 0,
        points_expired bigint NOT NULL DEFAULT 0,
        redemptions integer NOT NULL DEFAULT 0,
        purchase_revenue bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, day)
      );
      -- The last day each member earned, redeemed or enrolled: activeMembers counts distinct members.
      CREATE TABLE member_activity (
        tenant text NOT NULL,
        member_id uuid NOT NULL,
        last_active_on date NOT NULL,
        PRIMARY KEY (tenant, member_id)
      );
      CREATE INDEX member_activity_day ON member_activity (tenant, last_active_on);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE member_activity, daily_stats');
  }
}
