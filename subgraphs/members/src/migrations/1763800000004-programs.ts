import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The program policy per tenant (expiry, reminders, tier reviews) and its change log. A tenant
 * without a row has the defaults of program.policy.ts, so the columns carry none: the defaults have
 * one home. The CHECKs repeat updateProgram's validation, so no path can store a policy the rules
 * cannot read. program_changes is append-only like the ledger: who changed what stays on record.
 */
export class Programs1763800000004 implements MigrationInterface {
  name = 'Programs1763800000004';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE programs (
        tenant text PRIMARY KEY,
        time_zone text NOT NULL,
        expiry_mode text NOT NULL CHECK (expiry_mode IN ('NEVER', 'AFTER_DAYS', 'ROLLING')),
        expiry_days integer CHECK (expiry_days BETWEEN 1 AND 36500),
        expiry_round_to text NOT NULL CHECK (expiry_round_to IN ('NONE', 'END_OF_MONTH', 'END_OF_QUARTER', 'END_OF_YEAR')),
        reminder_days integer[] NOT NULL,
        tier_window_months integer NOT NULL CHECK (tier_window_months BETWEEN 1 AND 120),
        tier_downgrade text NOT NULL CHECK (tier_downgrade IN ('NEVER', 'ONE_LEVEL', 'TO_QUALIFIED')),
        tier_grace_days integer NOT NULL CHECK (tier_grace_days BETWEEN 0 AND 3650),
        updated_at timestamptz NOT NULL DEFAULT now(),
        CHECK ((expiry_mode = 'NEVER') = (expiry_days IS NULL)),
        CHECK (expiry_mode = 'AFTER_DAYS' OR expiry_round_to = 'NONE'),
        CHECK (0 < ALL (reminder_days) AND (expiry_days > ALL (reminder_days) OR (expiry_days IS NULL AND cardinality(reminder_days) = 0)))
      );

      CREATE TABLE program_changes (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        actor text NOT NULL,
        before jsonb NOT NULL,
        after jsonb NOT NULL,
        -- The moment of the change, not of its transaction's start: changes of one tenant queue on
        -- its programs row, so this orders them as they happened, each one's "before" the last one's "after".
        changed_at timestamptz NOT NULL DEFAULT clock_timestamp()
      );
      CREATE INDEX program_changes_tenant ON program_changes (tenant, changed_at);

      CREATE FUNCTION program_changes_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        RAISE EXCEPTION 'program_changes is append-only';
      END $$;
      CREATE TRIGGER program_changes_append_only BEFORE UPDATE OR DELETE ON program_changes
        FOR EACH ROW EXECUTE FUNCTION program_changes_append_only();
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(`
      DROP TABLE program_changes; DROP FUNCTION program_changes_append_only();
      DROP TABLE programs;
    `);
  }
}
