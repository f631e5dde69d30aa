import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Codes presented at a till: a reward may limit how long its codes stay valid, and a redemption
 * records when its code expires and when (and where) it was fulfilled. Lookups go through the
 * existing unique index on `code`.
 */
export class RedemptionCodes1763800000204 implements MigrationInterface {
  name = 'RedemptionCodes1763800000204';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE rewards ADD COLUMN code_valid_days integer CHECK (code_valid_days BETWEEN 1 AND 3650)');
    await runner.query(`
      ALTER TABLE redemptions
        ADD COLUMN code_expires_at timestamptz,
        ADD COLUMN fulfilled_at timestamptz,
        ADD COLUMN fulfilled_store_id text,
        ADD CONSTRAINT redemptions_fulfilled_completed CHECK (fulfilled_at IS NULL OR status <> 'CANCELLED')`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE redemptions DROP CONSTRAINT redemptions_fulfilled_completed, DROP COLUMN code_expires_at, DROP COLUMN fulfilled_at, DROP COLUMN fulfilled_store_id');
    await runner.query('ALTER TABLE rewards DROP COLUMN code_valid_days');
  }
}
