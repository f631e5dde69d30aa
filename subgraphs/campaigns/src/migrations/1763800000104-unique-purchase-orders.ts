import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * A purchase earns once: an order id is recorded at most once per tenant, whatever idempotency key
 * a till sends with it. (A database that already holds a duplicate PURCHASE order id must have it
 * resolved before this migration can run.)
 */
export class UniquePurchaseOrders1763800000104 implements MigrationInterface {
  name = 'UniquePurchaseOrders1763800000104';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`CREATE UNIQUE INDEX activities_purchase_order ON activities (tenant, order_id) WHERE type = 'PURCHASE' AND order_id IS NOT NULL`);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP INDEX activities_purchase_order');
  }
}
