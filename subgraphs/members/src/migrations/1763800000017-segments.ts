import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Dynamic segments (segment/segment.rule.ts).
 * - `point_accounts.last_active_at`: a member's last activity, its last EARN or REDEEM entry. The
 *   database keeps it, like the entry counter of migration 1763800000010: a statement-level trigger
 *   on ledger_entries, whichever code path wrote the entries, so activity conditions see every move.
 * - `segments`: conditions as jsonb; `version` counts changes of the conditions and
 *   `computed_version` is the version `segment_members` was last recomputed for.
 * - `segment_members`: who is in each segment as of its last refresh. It exists to notice entering
 *   and leaving (SEGMENT_ENTERED / SEGMENT_LEFT); `memberCount` and `Member.segments` are decided
 *   from the conditions at read time.
 */
export class Segments1763800000017 implements MigrationInterface {
  name = 'Segments1763800000017';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE point_accounts ADD COLUMN last_active_at timestamptz;
      UPDATE point_accounts a SET last_active_at = l.at
        FROM (SELECT member_id, max(created_at) AS at FROM ledger_entries WHERE type IN ('EARN', 'REDEEM') GROUP BY member_id) l
        WHERE a.member_id = l.member_id;

      CREATE FUNCTION ledger_entries_activity() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE point_accounts a SET last_active_at = GREATEST(a.last_active_at, n.at)
          FROM (SELECT member_id, max(created_at) AS at FROM inserted WHERE type IN ('EARN', 'REDEEM') GROUP BY member_id) n
          WHERE a.member_id = n.member_id;
        RETURN NULL;
      END $$;
      CREATE TRIGGER ledger_entries_activity AFTER INSERT ON ledger_entries
        REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION ledger_entries_activity();

      CREATE TABLE segments (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        name text NOT NULL,
        conditions jsonb NOT NULL,
        version integer NOT NULL DEFAULT 1,
        computed_version integer NOT NULL DEFAULT 0,
        computed_at timestamptz,
        created_at timestamptz(3) NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE UNIQUE INDEX segments_tenant_name ON segments (tenant, lower(name));
      CREATE INDEX segments_tenant_created ON segments (tenant, created_at, id);

      CREATE TABLE segment_members (
        segment_id uuid NOT NULL REFERENCES segments (id) ON DELETE CASCADE,
        member_id uuid NOT NULL REFERENCES members (id),
        tenant text NOT NULL,
        entered_at timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (segment_id, member_id)
      );
      CREATE INDEX segment_members_member ON segment_members (member_id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE segment_members, segments;
      DROP TRIGGER ledger_entries_activity ON ledger_entries;
      DROP FUNCTION ledger_entries_activity();
      ALTER TABLE point_accounts DROP COLUMN last_active_at;
    `);
  }
}
