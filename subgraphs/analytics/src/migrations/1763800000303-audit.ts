import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_TABLE_SQL, DROP_AUDIT_TABLE_SQL } from '@loyalty/kit';

/** The audit log of staff mutations made here (webhook endpoints). */
export class Audit1763800000303 implements MigrationInterface {
  name = 'Audit1763800000303';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(AUDIT_TABLE_SQL);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query(DROP_AUDIT_TABLE_SQL);
  }
}
