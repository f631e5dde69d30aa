import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Transfers between members (`transferPoints`):
 * - the entry type TRANSFER: a sender's debit and a receiver's credit under one idempotency key;
 * - the program policy's daily transfer limits per sending member (null: no limit), with the CHECKs
 *   updateProgram's validation repeats, so no path can store a limit the rules cannot read;
 * - an index on the senders' TRANSFER debits by time: the limits sum one member's transfers of one
 *   day under its account lock, never its whole history.
 */
export class Transfers1763800000016 implements MigrationInterface {
  name = 'Transfers1763800000016';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE ledger_entries
        DROP CONSTRAINT ledger_entries_type_check,
        ADD CONSTRAINT ledger_entries_type_check CHECK (type IN ('EARN', 'REDEEM', 'EXPIRE', 'ADJUST', 'REVERSAL', 'TRANSFER'));
      CREATE INDEX ledger_entries_member_transfers_sent ON ledger_entries (member_id, created_at) WHERE type = 'TRANSFER' AND points < 0;
      ALTER TABLE programs
        ADD COLUMN transfer_max_points_per_day integer CHECK (transfer_max_points_per_day >= 1),
        ADD COLUMN transfer_max_per_day integer CHECK (transfer_max_per_day >= 1);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    // Refuses while TRANSFER entries exist: the ledger is append-only, so they cannot be undone here.
    await runner.query(`
      ALTER TABLE programs DROP COLUMN transfer_max_per_day, DROP COLUMN transfer_max_points_per_day;
      DROP INDEX ledger_entries_member_transfers_sent;
      ALTER TABLE ledger_entries
        DROP CONSTRAINT ledger_entries_type_check,
        ADD CONSTRAINT ledger_entries_type_check CHECK (type IN ('EARN', 'REDEEM', 'EXPIRE', 'ADJUST', 'REVERSAL'));
    `);
  }
}
