import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Code pools: codes a marketer imports for a reward (coupons, gift cards), handed out one per
 * redemption in import order (`seq`). `redemption_id` is null while a code is free; a code is taken
 * by the reservation that creates its PENDING redemption, and given back only if that redemption
 * FAILS. `code_key` is the code as compared (upper case, no spaces or dashes), unique per tenant.
 *
 * Redemption codes become unique per tenant instead of globally: two tenants may import the same
 * external code.
 */
export class CodePools1763800000206 implements MigrationInterface {
  name = 'CodePools1763800000206';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE rewards ADD COLUMN code_pool boolean NOT NULL DEFAULT false');
    await runner.query(`
      CREATE TABLE reward_codes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        seq bigserial NOT NULL,
        tenant text NOT NULL,
        reward_id uuid NOT NULL REFERENCES rewards(id),
        code text NOT NULL,
        code_key text NOT NULL,
        redemption_id uuid UNIQUE REFERENCES redemptions(id),
        created_at timestamptz NOT NULL DEFAULT now(),
        CONSTRAINT reward_codes_tenant_key UNIQUE (tenant, code_key)
      )`);
    await runner.query('CREATE INDEX reward_codes_free ON reward_codes (reward_id, seq) WHERE redemption_id IS NULL');
    await runner.query('ALTER TABLE redemptions DROP CONSTRAINT redemptions_code_key, ADD CONSTRAINT redemptions_code_key UNIQUE (tenant, code)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE redemptions DROP CONSTRAINT redemptions_code_key, ADD CONSTRAINT redemptions_code_key UNIQUE (code)');
    await runner.query('DROP TABLE reward_codes');
    await runner.query('ALTER TABLE rewards DROP COLUMN code_pool');
  }
}
