import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A per-member cap is reserved by one upsert on its counter row (activity.repository.ts `claimCap`),
 * which clips what an activity asks for to what the cap has left. `last_granted` is what the latest
 * reservation got, written by that same statement so that it can return it: a counter at its cap
 * after the statement does not say how much of the request fitted.
 */
export class CapGrants1763800000106 implements MigrationInterface {
  name = 'CapGrants1763800000106';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE member_caps ADD COLUMN last_granted integer NOT NULL DEFAULT 0');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE member_caps DROP COLUMN last_granted');
  }
}
