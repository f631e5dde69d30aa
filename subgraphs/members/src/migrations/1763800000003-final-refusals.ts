import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A service's key may end in a refusal that is final (INSUFFICIENT_POINTS, an unknown member, a
 * balance limit): the refusal is kept with the key, so asking again with it is refused the same way.
 */
export class FinalRefusals1763800000003 implements MigrationInterface {
  name = 'FinalRefusals1763800000003';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE idempotency_keys ADD COLUMN refusal jsonb');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE idempotency_keys DROP COLUMN refusal');
  }
}
