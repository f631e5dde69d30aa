import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OUTBOX_TABLE_SQL } from '@loyalty/kit';

/**
 * The earning engine: rules, eligibility and budget on the campaign; activities (one per tenant and
 * idempotency key) with the points each rule awarded; per-member cap usage per calendar period.
 */
export class Earning1763800000102 implements MigrationInterface {
  name = 'Earning1763800000102';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE campaigns
        ADD COLUMN rules jsonb NOT NULL DEFAULT '[]',
        ADD COLUMN eligibility jsonb,
        ADD COLUMN max_points integer CHECK (max_points > 0),
        ADD COLUMN points_issued integer NOT NULL DEFAULT 0 CHECK (points_issued >= 0),
        ADD CONSTRAINT campaigns_budget CHECK (max_points IS NULL OR points_issued <= max_points);

      CREATE TABLE activities (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        member_id uuid NOT NULL,
        type text NOT NULL CHECK (type IN ('PURCHASE', 'CUSTOM_EVENT')),
        amount integer,
        currency char(3),
        order_id text,
        store_id text,
        channel text,
        event_name text,
        occurred_at timestamptz NOT NULL,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        points_earned integer NOT NULL DEFAULT 0,
        -- NONE: nothing to credit; PENDING: awarded, credit not yet confirmed by members;
        -- CREDITED: on the ledger; FAILED: the ledger refused for good, budget and caps released.
        credit_status text NOT NULL CHECK (credit_status IN ('NONE', 'PENDING', 'CREDITED', 'FAILED')),
        transaction_id uuid,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant, idempotency_key)
      );
      CREATE INDEX activities_pending ON activities (created_at) WHERE credit_status = 'PENDING';

      CREATE TABLE activity_awards (
        activity_id uuid NOT NULL REFERENCES activities (id),
        campaign_id uuid NOT NULL REFERENCES campaigns (id),
        rule_id uuid NOT NULL,
        points integer NOT NULL CHECK (points > 0),
        cap_period_key text,
        PRIMARY KEY (activity_id, rule_id)
      );
      CREATE INDEX activity_awards_campaign ON activity_awards (campaign_id);

      CREATE TABLE member_caps (
        rule_id uuid NOT NULL,
        member_id uuid NOT NULL,
        period_key text NOT NULL,
        points integer NOT NULL CHECK (points >= 0),
        PRIMARY KEY (rule_id, member_id, period_key)
      );
    `);
    await runner.query(OUTBOX_TABLE_SQL);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE outbox, member_caps, activity_awards, activities;
      ALTER TABLE campaigns DROP CONSTRAINT campaigns_budget, DROP COLUMN rules, DROP COLUMN eligibility,
        DROP COLUMN max_points, DROP COLUMN points_issued;
    `);
  }
}
