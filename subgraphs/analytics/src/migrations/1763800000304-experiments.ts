import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models of experiment reports (A/B tests on campaigns): the report compares arms member by
 * member (zeros included), so it needs facts per member, not daily totals.
 * - `experiments`: each campaign's experiment as campaigns announced it (CAMPAIGN_EXPERIMENT_CHANGED).
 * - `member_facts`: every member and when it enrolled (members who enrolled before this table existed
 *   are taken from those ever active, with an unknown enrolment time, counted as enrolled before any
 *   experiment).
 * - `activity_facts` / `award_facts`: each activity's member, time and purchase amount, and the points
 *   each campaign awarded it.
 * - `redemption_facts` gains its member and time.
 */
export class Experiments1763800000304 implements MigrationInterface {
  name = 'Experiments1763800000304';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE experiments (
        campaign_id uuid PRIMARY KEY,
        tenant text NOT NULL,
        holdout_percent integer NOT NULL,
        variants jsonb NOT NULL,
        started_at timestamptz,
        ended_at timestamptz
      );
      CREATE TABLE member_facts (
        tenant text NOT NULL,
        member_id uuid NOT NULL,
        enrolled_at timestamptz,
        PRIMARY KEY (tenant, member_id)
      );
      INSERT INTO member_facts (tenant, member_id) SELECT tenant, member_id FROM active_members ON CONFLICT DO NOTHING;
      CREATE TABLE activity_facts (
        activity_id uuid PRIMARY KEY,
        tenant text NOT NULL,
        member_id uuid NOT NULL,
        occurred_at timestamptz NOT NULL,
        purchase_amount bigint NOT NULL DEFAULT 0
      );
      -- A report reads the tenant's activities of a time window, grouped by member: all from the index.
      CREATE INDEX activity_facts_window ON activity_facts (tenant, occurred_at) INCLUDE (member_id, purchase_amount);
      CREATE TABLE award_facts (
        activity_id uuid NOT NULL,
        campaign_id uuid NOT NULL,
        member_id uuid NOT NULL,
        occurred_at timestamptz NOT NULL,
        points bigint NOT NULL,
        PRIMARY KEY (campaign_id, activity_id)
      );
      ALTER TABLE redemption_facts ADD COLUMN member_id uuid, ADD COLUMN redeemed_at timestamptz;
      CREATE INDEX redemption_facts_member ON redemption_facts (tenant, redeemed_at) INCLUDE (member_id) WHERE NOT cancelled;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP INDEX redemption_facts_member;
      ALTER TABLE redemption_facts DROP COLUMN member_id, DROP COLUMN redeemed_at;
      DROP TABLE award_facts, activity_facts, member_facts, experiments;
    `);
  }
}
