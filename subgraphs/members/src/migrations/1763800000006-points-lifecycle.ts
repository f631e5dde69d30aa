import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The points lifecycle: lots that expire on a rolling clock, pending credits on the entry that made
 * them, the outcome of a key that moved no points (a return with nothing left to take), one reminder
 * per lot and reminder day, and a tier's grace period.
 */
export class PointsLifecycle1763800000006 implements MigrationInterface {
  name = 'PointsLifecycle1763800000006';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      -- A ROLLING lot's expiry moves forward with every EARN and REDEEM of its member.
      ALTER TABLE point_lots ADD COLUMN rolling boolean NOT NULL DEFAULT false;
      -- The expiry job and the activation of pending points find their lots without a scan.
      CREATE INDEX point_lots_due ON point_lots (expires_at) WHERE remaining > 0 AND expires_at IS NOT NULL;
      CREATE INDEX point_lots_pending ON point_lots (pending_until) WHERE remaining > 0 AND pending_until IS NOT NULL;

      -- A lot is pending while pending_until is set: activation clears it. The entry keeps when
      -- its credit was pending until, and the order it was earned on (activation and returns by order).
      ALTER TABLE ledger_entries ADD COLUMN pending_until timestamptz, ADD COLUMN order_id text;
      CREATE INDEX ledger_entries_member_order ON ledger_entries (member_id, order_id) WHERE order_id IS NOT NULL;

      -- What a key produced when it is not one entry (a return's reversed and unrecovered points).
      ALTER TABLE idempotency_keys ADD COLUMN outcome jsonb;

      CREATE TABLE lot_reminders (
        lot_id uuid NOT NULL REFERENCES point_lots (id),
        days integer NOT NULL CHECK (days > 0),
        sent_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (lot_id, days)
      );

      -- A member below its tier's threshold keeps the tier until then (the policy's graceDays).
      ALTER TABLE members ADD COLUMN tier_retained_until timestamptz;
      -- One daily tier review per tenant and day, whichever replica runs it.
      CREATE TABLE tier_reviews (
        tenant text NOT NULL,
        day date NOT NULL,
        PRIMARY KEY (tenant, day)
      );
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE tier_reviews, lot_reminders;
      ALTER TABLE members DROP COLUMN tier_retained_until;
      ALTER TABLE idempotency_keys DROP COLUMN outcome;
      DROP INDEX ledger_entries_member_order;
      ALTER TABLE ledger_entries DROP COLUMN pending_until, DROP COLUMN order_id;
      DROP INDEX point_lots_pending, point_lots_due;
      ALTER TABLE point_lots DROP COLUMN rolling;
    `);
  }
}
