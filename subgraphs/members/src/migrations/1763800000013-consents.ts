import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Marketing consents per channel, off until given, and the record of every change (who, when, what
 * was set): the proof of consent GDPR asks a brand to be able to show. The record is append-only.
 */
export class Consents1763800000013 implements MigrationInterface {
  name = 'Consents1763800000013';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      ALTER TABLE members
        ADD COLUMN consent_marketing_email boolean NOT NULL DEFAULT false,
        ADD COLUMN consent_marketing_sms boolean NOT NULL DEFAULT false,
        ADD COLUMN consent_marketing_push boolean NOT NULL DEFAULT false,
        ADD COLUMN consents_updated_at timestamptz`);
    await runner.query(`
      CREATE TABLE consent_changes (
        id bigserial PRIMARY KEY,
        tenant text NOT NULL,
        member_id uuid NOT NULL REFERENCES members (id),
        changes jsonb NOT NULL,
        actor text NOT NULL,
        at timestamptz NOT NULL DEFAULT now()
      )`);
    await runner.query('CREATE INDEX consent_changes_member ON consent_changes (member_id, id)');
    // One refusal for every append-only record of this database (the ledger keeps its own, older one).
    await runner.query(`
      CREATE FUNCTION append_only() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$`);
    await runner.query('CREATE TRIGGER consent_changes_append_only BEFORE UPDATE OR DELETE ON consent_changes FOR EACH ROW EXECUTE FUNCTION append_only()');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE consent_changes');
    await runner.query('DROP FUNCTION append_only()');
    await runner.query('ALTER TABLE members DROP COLUMN consent_marketing_email, DROP COLUMN consent_marketing_sms, DROP COLUMN consent_marketing_push, DROP COLUMN consents_updated_at');
  }
}
