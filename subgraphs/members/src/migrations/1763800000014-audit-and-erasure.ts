import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_TABLE_SQL, DROP_AUDIT_TABLE_SQL } from '@loyalty/kit';

/**
 * The audit log of staff and API-key mutations, and erasure on request (GDPR Art. 17): an erased
 * member keeps its id, status, country, tier and points (the ledger is an accounting record), and
 * loses its email, name, external id, attributes and consents. `member_erasures` tracks each
 * subgraph's confirmation that it removed what it held.
 */
export class AuditAndErasure1763800000014 implements MigrationInterface {
  name = 'AuditAndErasure1763800000014';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(AUDIT_TABLE_SQL);
    await runner.query(`
      ALTER TABLE members
        DROP CONSTRAINT members_status_check,
        ADD CONSTRAINT members_status_check CHECK (status IN ('ACTIVE', 'SUSPENDED', 'ERASED')),
        ALTER COLUMN email DROP NOT NULL,
        ADD CONSTRAINT members_email_unless_erased CHECK (status = 'ERASED' OR email IS NOT NULL)`);
    await runner.query('ALTER TABLE point_accounts ADD COLUMN closed boolean NOT NULL DEFAULT false');
    await runner.query(`
      CREATE TABLE member_erasures (
        member_id uuid PRIMARY KEY REFERENCES members (id),
        tenant text NOT NULL,
        requested_at timestamptz NOT NULL DEFAULT now(),
        requested_by text NOT NULL,
        -- service name → when it confirmed
        confirmations jsonb NOT NULL DEFAULT '{}',
        completed_at timestamptz
      )`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE member_erasures');
    await runner.query('ALTER TABLE point_accounts DROP COLUMN closed');
    await runner.query(`DELETE FROM members WHERE status = 'ERASED'`);
    await runner.query(`
      ALTER TABLE members
        DROP CONSTRAINT members_email_unless_erased,
        ALTER COLUMN email SET NOT NULL,
        DROP CONSTRAINT members_status_check,
        ADD CONSTRAINT members_status_check CHECK (status IN ('ACTIVE', 'SUSPENDED'))`);
    await runner.query(DROP_AUDIT_TABLE_SQL);
  }
}
