import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A campaign may run as an experiment (A/B test): its holdout share, its variants with their weights
 * and rules, and when it started and ended, kept with the campaign it belongs to (one row read by
 * every activity, as its rules are). Null: the campaign runs no experiment.
 */
export class Experiments1763800000109 implements MigrationInterface {
  name = 'Experiments1763800000109';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE campaigns ADD COLUMN experiment jsonb');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE campaigns DROP COLUMN experiment');
  }
}
