import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_TABLE_SQL, CONSUMER_POSITIONS_TABLE_SQL, DROP_AUDIT_TABLE_SQL, DROP_ERASED_MEMBERS_SQL, ERASED_MEMBERS_SQL } from '@loyalty/kit';

/** The audit log of staff and API-key mutations; erasure on request (the members erased here, where the consumer of MEMBER_ERASED is). */
export class AuditAndErasure1763800000205 implements MigrationInterface {
  name = 'AuditAndErasure1763800000205';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(AUDIT_TABLE_SQL);
    await runner.query(ERASED_MEMBERS_SQL);
    await runner.query(CONSUMER_POSITIONS_TABLE_SQL);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE consumer_positions');
    await runner.query(DROP_ERASED_MEMBERS_SQL);
    await runner.query(DROP_AUDIT_TABLE_SQL);
  }
}
