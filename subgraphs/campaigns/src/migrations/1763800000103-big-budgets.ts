import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A campaign without a budget may issue more than 2^31 points over its life. */
export class BigBudgets1763800000103 implements MigrationInterface {
  name = 'BigBudgets1763800000103';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE campaigns ALTER COLUMN points_issued TYPE bigint');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE campaigns ALTER COLUMN points_issued TYPE integer');
  }
}
