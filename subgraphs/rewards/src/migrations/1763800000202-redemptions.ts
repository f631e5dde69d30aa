import type { MigrationInterface, QueryRunner } from 'typeorm';
import { OUTBOX_TABLE_SQL } from '@loyalty/kit';

/**
 * Redemptions: PENDING while the ledger debit is asked for, then COMPLETED (with a code), FAILED
 * (stock given back) or, later, CANCELLED (points reversed, stock given back).
 */
export class Redemptions1763800000202 implements MigrationInterface {
  name = 'Redemptions1763800000202';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE redemptions (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        member_id uuid NOT NULL,
        reward_id uuid NOT NULL REFERENCES rewards (id),
        points_spent integer NOT NULL CHECK (points_spent > 0),
        status text NOT NULL CHECK (status IN ('PENDING', 'COMPLETED', 'FAILED', 'CANCELLED')),
        code text UNIQUE,
        store_id text,
        channel text,
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        transaction_id uuid,
        reversal_transaction_id uuid,
        failure_code text,
        cancel_reason text,
        created_at timestamptz(3) NOT NULL DEFAULT now(), -- millisecond precision: cursors carry it exactly
        updated_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant, idempotency_key),
        CHECK (status <> 'COMPLETED' OR (code IS NOT NULL AND transaction_id IS NOT NULL))
      );
      CREATE INDEX redemptions_member ON redemptions (tenant, member_id, created_at DESC, id DESC);
      CREATE INDEX redemptions_member_reward ON redemptions (member_id, reward_id) WHERE status IN ('PENDING', 'COMPLETED');
      CREATE INDEX redemptions_pending ON redemptions (created_at) WHERE status = 'PENDING';
    `);
    await runner.query(OUTBOX_TABLE_SQL);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE outbox, redemptions');
  }
}
