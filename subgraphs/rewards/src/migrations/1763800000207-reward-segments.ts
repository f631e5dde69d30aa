import type { MigrationInterface, QueryRunner } from 'typeorm';

/** A reward may be for members of some segments only (`segmentIds`: any of them; null: everyone). */
export class RewardSegments1763800000207 implements MigrationInterface {
  name = 'RewardSegments1763800000207';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE rewards ADD COLUMN segment_ids uuid[]');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE rewards DROP COLUMN segment_ids');
  }
}
