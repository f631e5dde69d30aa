import type { MigrationInterface, QueryRunner } from 'typeorm';
import { AUDIT_TABLE_SQL, CONSUMER_POSITIONS_TABLE_SQL, DROP_AUDIT_TABLE_SQL, DROP_ERASED_MEMBERS_SQL, ERASED_MEMBERS_SQL } from '@loyalty/kit';

/** The audit log of staff and API-key mutations; erasure on request (the members erased here, where the consumer of MEMBER_ERASED is). */
export class AuditAndErasure1763800000107 implements MigrationInterface {
  name = 'AuditAndErasure1763800000107';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(AUDIT_TABLE_SQL);
    await runner.query(ERASED_MEMBERS_SQL);
    await runner.query(CONSUMER_POSITIONS_TABLE_SQL);
    // A member's activities and returns, for its export and its erasure.
    await runner.query('CREATE INDEX activities_member ON activities (tenant, member_id)');
    await runner.query('CREATE INDEX returns_member ON returns (tenant, member_id)');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX returns_member; DROP INDEX activities_member; DROP TABLE consumer_positions');
    await runner.query(DROP_ERASED_MEMBERS_SQL);
    await runner.query(DROP_AUDIT_TABLE_SQL);
  }
}
