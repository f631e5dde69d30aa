import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_TABLE_SQL, DROP_AUDIT_TABLE_SQL } from '@loyalty/kit';

/** The audit log of staff mutations made here (webhook endpoints); a member's webhook deliveries by member, for its erasure. */
export class Audit1763800000303 implements MigrationInterface {
  name = 'Audit1763800000303';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(AUDIT_TABLE_SQL);
    await runner.query('CREATE INDEX webhook_deliveries_member ON webhook_deliveries (tenant, key)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX webhook_deliveries_member');
    await runner.query(DROP_AUDIT_TABLE_SQL);
  }
}
