import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Stacking: campaigns apply in priority order and an exclusive one stops the lower ones; an
 * activity keeps the campaigns it stopped (so a replay shows the same decision). Simulations read a
 * tenant's activities by time.
 */
export class Stacking1763800000108 implements MigrationInterface {
  name = 'Stacking1763800000108';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE campaigns ADD COLUMN priority integer NOT NULL DEFAULT 0, ADD COLUMN exclusive boolean NOT NULL DEFAULT false;
      ALTER TABLE activities ADD COLUMN excluded_campaign_ids uuid[] NOT NULL DEFAULT '{}';
      CREATE INDEX activities_occurred ON activities (tenant, occurred_at, id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP INDEX activities_occurred;
      ALTER TABLE activities DROP COLUMN excluded_campaign_ids;
      ALTER TABLE campaigns DROP COLUMN exclusive, DROP COLUMN priority;
    `);
  }
}
