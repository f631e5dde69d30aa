import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Cancellation becomes recoverable like redemption: CANCELLING is written before the refund is asked
 * for, so a lost answer or a crash leaves a row the recovery job finishes. `member_checked` is false
 * for a redemption reserved while the member could not be read: its member gates run at settlement.
 */
export class RedemptionCancelling1763800000203 implements MigrationInterface {
  name = 'RedemptionCancelling1763800000203';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE redemptions DROP CONSTRAINT redemptions_status_check;
      ALTER TABLE redemptions ADD CONSTRAINT redemptions_status_check
        CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED', 'CANCELLING', 'CANCELLED'));
      ALTER TABLE redemptions ADD CONSTRAINT redemptions_cancel_needs_debit
        CHECK (status NOT IN ('CANCELLING', 'CANCELLED') OR transaction_id IS NOT NULL);
      ALTER TABLE redemptions ADD COLUMN member_checked boolean NOT NULL DEFAULT true;
      DROP INDEX redemptions_member_reward;
      CREATE INDEX redemptions_member_reward ON redemptions (member_id, reward_id) WHERE status IN ('PENDING', 'COMPLETED', 'CANCELLING');
      CREATE INDEX redemptions_cancelling ON redemptions (updated_at) WHERE status = 'CANCELLING';
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      UPDATE redemptions SET status = 'COMPLETED' WHERE status = 'CANCELLING';
      DROP INDEX redemptions_cancelling;
      DROP INDEX redemptions_member_reward;
      CREATE INDEX redemptions_member_reward ON redemptions (member_id, reward_id) WHERE status IN ('PENDING', 'COMPLETED');
      ALTER TABLE redemptions DROP COLUMN member_checked;
      ALTER TABLE redemptions DROP CONSTRAINT redemptions_cancel_needs_debit;
      ALTER TABLE redemptions DROP CONSTRAINT redemptions_status_check;
      ALTER TABLE redemptions ADD CONSTRAINT redemptions_status_check CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED', 'CANCELLED'));
    `);
  }
}
