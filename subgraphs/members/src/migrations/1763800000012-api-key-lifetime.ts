import type { MigrationInterface, QueryRunner } from 'typeorm';

/** API keys gain an optional end of validity and the time they were last used. */
export class ApiKeyLifetime1763800000012 implements MigrationInterface {
  name = 'ApiKeyLifetime1763800000012';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE api_keys ADD COLUMN expires_at timestamptz, ADD COLUMN last_used_at timestamptz');
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('ALTER TABLE api_keys DROP COLUMN expires_at, DROP COLUMN last_used_at');
  }
}
