import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Returns of purchases, and the terms an activity's credit was first sent with.
 *
 * - `activities.credit_order_id` / `credit_pending_until`: what the credit carries besides its
 *   points (the order, for PURCHASE; the end of the return window, from the awarding rules'
 *   `pendingDays`). Kept so that a retry or a replay sends the identical credit. Rows stored before
 *   this migration keep null in both: their credit was first sent without them.
 * - `returns`: one per tenant and idempotency key, against the PURCHASE activity of its order.
 *   `points` is what the return reverses (its share of the order's points, decided when it is
 *   recorded); PENDING until members confirms the reversal, then REVERSED with what was taken
 *   (`points_reversed`) and what the member had already spent (`points_unrecovered`); FAILED if the
 *   ledger refused for good (`refusal`), and then it counts for nothing.
 * - `return_reversals`: each awarding campaign rule's share of what a return took back, taken off
 *   its campaign's budget and its member cap; keyed by the return, so a settlement repeated by a
 *   retry or the recovery job writes nothing twice.
 */
export class Returns1763800000105 implements MigrationInterface {
  name = 'Returns1763800000105';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE activities
        ADD COLUMN credit_order_id text,
        ADD COLUMN credit_pending_until timestamptz;

      CREATE TABLE returns (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        activity_id uuid NOT NULL REFERENCES activities (id),
        member_id uuid NOT NULL,
        order_id text NOT NULL,
        amount integer NOT NULL CHECK (amount > 0),
        points integer NOT NULL CHECK (points >= 0),
        idempotency_key text NOT NULL,
        request_hash text NOT NULL,
        status text NOT NULL CHECK (status IN ('PENDING', 'REVERSED', 'FAILED')),
        points_reversed integer CHECK (points_reversed >= 0),
        points_unrecovered integer CHECK (points_unrecovered >= 0),
        transaction_id uuid,
        refusal jsonb,
        created_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (tenant, idempotency_key),
        CHECK (status <> 'REVERSED' OR points_reversed + points_unrecovered = points)
      );
      CREATE INDEX returns_activity ON returns (activity_id);
      CREATE INDEX returns_pending ON returns (created_at) WHERE status = 'PENDING';

      CREATE TABLE return_reversals (
        return_id uuid NOT NULL REFERENCES returns (id),
        campaign_id uuid NOT NULL REFERENCES campaigns (id),
        rule_id uuid NOT NULL,
        points integer NOT NULL CHECK (points > 0),
        PRIMARY KEY (return_id, rule_id)
      );
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE return_reversals, returns;
      ALTER TABLE activities DROP COLUMN credit_order_id, DROP COLUMN credit_pending_until;
    `);
  }
}
