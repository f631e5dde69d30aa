import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `members(filter)` pages in enrolment order: each filter that has no unique answer (tier,
 * country) gets an index in that order, so a page of a tenant with 1,000,000 members reads one
 * page of index, not every match followed by a sort.
 */
export class MemberSearch1763800000009 implements MigrationInterface {
  name = 'MemberSearch1763800000009';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE INDEX members_tenant_tier_enrolled ON members (tenant, tier_id, enrolled_at, id);
      CREATE INDEX members_tenant_country_enrolled ON members (tenant, country, enrolled_at, id);
      DROP INDEX members_tenant_tier;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE INDEX members_tenant_tier ON members (tenant, tier_id);
      DROP INDEX members_tenant_country_enrolled, members_tenant_tier_enrolled;
    `);
  }
}
