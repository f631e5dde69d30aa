import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * lot_allocations loses its two foreign keys. Each allocation row costs PostgreSQL two key lookups
 * with row locks (FOR KEY SHARE) on the entry and the lot, and an expiry batch writes 1,000 rows:
 * the checks were 60 % of the maintenance job's database time. They guarded nothing the ledger
 * does not guarantee by construction: allocations are written only by the move (or maintenance
 * batch) that inserted the entry and holds the lot's account lock, ledger entries cannot be
 * deleted (ledger_entries_append_only) and lots never are. The ledger invariants the tests check
 * after every concurrency and crash run include "every allocation joins an entry and a lot of the
 * same member", which is stricter than the keys were.
 */
export class AllocationKeys1763800000011 implements MigrationInterface {
  name = 'AllocationKeys1763800000011';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE lot_allocations DROP CONSTRAINT lot_allocations_entry_id_fkey, DROP CONSTRAINT lot_allocations_lot_id_fkey;
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE lot_allocations
        ADD CONSTRAINT lot_allocations_entry_id_fkey FOREIGN KEY (entry_id) REFERENCES ledger_entries (id),
        ADD CONSTRAINT lot_allocations_lot_id_fkey FOREIGN KEY (lot_id) REFERENCES point_lots (id);
    `);
  }
}
