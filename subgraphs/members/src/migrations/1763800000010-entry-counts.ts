import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * `transactions.totalCount` from a counter on the account instead of counting the member's whole
 * history on every read. The database keeps it: a statement-level trigger adds what each INSERT
 * into ledger_entries added per member, whichever code path wrote the entries (a move, a batch of
 * EXPIRE entries), so no writer can forget it.
 */
export class EntryCounts1763800000010 implements MigrationInterface {
  name = 'EntryCounts1763800000010';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE point_accounts ADD COLUMN entries integer NOT NULL DEFAULT 0;
      UPDATE point_accounts a SET entries = c.n
        FROM (SELECT member_id, count(*)::int AS n FROM ledger_entries GROUP BY member_id) c
        WHERE a.member_id = c.member_id;

      CREATE FUNCTION ledger_entries_count() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE point_accounts a SET entries = a.entries + n.added
          FROM (SELECT member_id, count(*)::int AS added FROM inserted GROUP BY member_id) n
          WHERE a.member_id = n.member_id;
        RETURN NULL;
      END $$;
      CREATE TRIGGER ledger_entries_count AFTER INSERT ON ledger_entries
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_count();
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TRIGGER ledger_entries_count ON ledger_entries;
      DROP FUNCTION ledger_entries_count();
      ALTER TABLE point_accounts DROP COLUMN entries;
    `);
  }
}
