import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The tier review: it walks a tenant's members by id in batches, finds members whose grace period
 * is over without a scan, and remembers when a review last took a member down (ONE_LEVEL moves at
 * most one rank a day, however many reviews run that day).
 */
export class TierReview1763800000007 implements MigrationInterface {
  name = 'TierReview1763800000007';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE members ADD COLUMN tier_downgraded_at timestamptz;
      CREATE INDEX members_tenant_id ON members (tenant, id);
      CREATE INDEX members_tier_retained ON members (tenant, tier_retained_until) WHERE tier_retained_until IS NOT NULL;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP INDEX members_tier_retained, members_tenant_id;
      ALTER TABLE members DROP COLUMN tier_downgraded_at;
    `);
  }
}
