import type { MigrationInterface, QueryRunner } from 'typeorm';

/** The reward catalog. Stock movements and redemptions come with the redemption flow. */
export class RewardsInitial1763800000201 implements MigrationInterface {
  name = 'RewardsInitial1763800000201';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE rewards (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        name text NOT NULL,
        description text,
        type text NOT NULL CHECK (type IN ('PRODUCT', 'DISCOUNT', 'FREE_SHIPPING', 'GIFT_CARD', 'CASHBACK', 'EXPERIENCE')),
        cost_points integer NOT NULL CHECK (cost_points > 0),
        stock integer CHECK (stock >= 0),
        min_tier_rank integer CHECK (min_tier_rank >= 0),
        limit_per_member integer CHECK (limit_per_member > 0),
        valid_from timestamptz,
        valid_until timestamptz,
        active boolean NOT NULL DEFAULT true,
        created_at timestamptz(3) NOT NULL DEFAULT now(), -- millisecond precision: cursors carry it exactly
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (valid_until IS NULL OR valid_from IS NULL OR valid_until > valid_from)
      );
      CREATE INDEX rewards_tenant ON rewards (tenant, created_at, id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE rewards');
  }
}
