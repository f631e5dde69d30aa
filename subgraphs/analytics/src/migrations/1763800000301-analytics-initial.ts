import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Read models built only from bus events, pre-aggregated per tenant and UTC day so reports sum a
 * few rows per day of the range instead of scanning events. `consumer_positions` is advanced in the
 * same transaction as the aggregates, so a restart or a replayed event never counts twice.
 */
export class AnalyticsInitial1763800000301 implements MigrationInterface {
  name = 'AnalyticsInitial1763800000301';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE consumer_positions (
        name text PRIMARY KEY,
        position bigint NOT NULL
      );
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
      -- Who was active on which day: activeMembers counts distinct members of a range.
      CREATE TABLE member_days (
        tenant text NOT NULL,
        day date NOT NULL,
        member_id uuid NOT NULL,
        PRIMARY KEY (tenant, day, member_id)
      );
      -- Everyone ever active: activeMembers without a range is a count of a small index, not a
      -- distinct count over every member-day.
      CREATE TABLE active_members (
        tenant text NOT NULL,
        member_id uuid NOT NULL,
        PRIMARY KEY (tenant, member_id)
      );
      CREATE TABLE reward_days (
        tenant text NOT NULL,
        reward_id uuid NOT NULL,
        day date NOT NULL,
        redemptions integer NOT NULL DEFAULT 0,
        points_spent bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, day, reward_id)
      );
      CREATE TABLE store_days (
        tenant text NOT NULL,
        store_id text NOT NULL,
        day date NOT NULL,
        redemptions integer NOT NULL DEFAULT 0,
        points_spent bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant, day, store_id)
      );
      -- A redemption's day and place, so a cancellation is taken off where it was counted.
      CREATE TABLE redemption_facts (
        redemption_id uuid PRIMARY KEY,
        tenant text NOT NULL,
        reward_id uuid NOT NULL,
        store_id text NOT NULL,
        day date NOT NULL,
        points_spent integer NOT NULL,
        cancelled boolean NOT NULL DEFAULT false
      );
      CREATE TABLE campaign_stats (
        tenant text NOT NULL,
        campaign_id uuid PRIMARY KEY,
        points_issued bigint NOT NULL DEFAULT 0,
        activities integer NOT NULL DEFAULT 0
      );
      CREATE TABLE campaign_members (
        campaign_id uuid NOT NULL,
        member_id uuid NOT NULL,
        PRIMARY KEY (campaign_id, member_id)
      );
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(
      'DROP TABLE campaign_members, campaign_stats, redemption_facts, store_days, reward_days, active_members, member_days, daily_stats, consumer_positions',
    );
  }
}
