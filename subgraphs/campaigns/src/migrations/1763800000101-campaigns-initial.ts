import type { MigrationInterface, QueryRunner } from 'typeorm';

/** Campaigns and their lifecycle. Earning rules, eligibility and budgets come with the earning engine. */
export class CampaignsInitial1763800000101 implements MigrationInterface {
  name = 'CampaignsInitial1763800000101';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE campaigns (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        name text NOT NULL,
        description text,
        status text NOT NULL DEFAULT 'DRAFT' CHECK (status IN ('DRAFT', 'ACTIVE', 'PAUSED')),
        starts_at timestamptz,
        ends_at timestamptz,
        time_zone text NOT NULL DEFAULT 'UTC',
        created_at timestamptz(3) NOT NULL DEFAULT now(), -- millisecond precision: cursors carry it exactly
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
      );
      CREATE INDEX campaigns_tenant ON campaigns (tenant, created_at, id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE campaigns');
  }
}
