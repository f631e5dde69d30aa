import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Webhook endpoints and their deliveries. A delivery is one event for one endpoint, unique per
 * (endpoint, event), queued by the `webhooks` bus consumer in the transaction that moves its
 * position. Dispatchers on any replica claim due ones (`FOR UPDATE SKIP LOCKED`) and hold them with
 * a lease: `next_attempt_at` moves to the lease's end, so a delivery whose dispatcher died comes due
 * again by itself.
 */
export class Webhooks1763800000302 implements MigrationInterface {
  name = 'Webhooks1763800000302';

  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE webhook_endpoints (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        tenant text NOT NULL,
        url text NOT NULL CHECK (length(url) <= 2048),
        event_types text[] NOT NULL,
        active boolean NOT NULL DEFAULT true,
        -- AES-256-GCM under a key derived from SERVICE_SECRET: a copy of the database alone cannot sign.
        secret text NOT NULL,
        -- The secret before the last rotation, still signed with until previous_secret_expires_at.
        previous_secret text,
        previous_secret_expires_at timestamptz,
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        updated_at timestamptz NOT NULL DEFAULT now()
      );
      CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant, created_at) WHERE active;
      CREATE INDEX webhook_endpoints_list ON webhook_endpoints (tenant, created_at, id);

      CREATE TABLE webhook_deliveries (
        id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
        endpoint_id uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
        tenant text NOT NULL,
        -- Name-based from the bus identity (source, source id): the same on every replica and redelivery.
        event_id uuid NOT NULL,
        event_type text NOT NULL,
        -- The bus key (the member for member events) and position: the order deliveries keep per key.
        key text NOT NULL,
        position bigint NOT NULL,
        -- The exact bytes sent and signed, on every attempt.
        body text NOT NULL,
        status text NOT NULL DEFAULT 'PENDING' CHECK (status IN ('PENDING', 'DELIVERED', 'FAILED', 'DEAD')),
        attempts integer NOT NULL DEFAULT 0,
        -- Failures since retry_from (the first attempt, or the first after redeliverWebhook): the schedule's input.
        failures integer NOT NULL DEFAULT 0,
        retry_from timestamptz NOT NULL DEFAULT now(),
        next_attempt_at timestamptz,
        lease_owner text,
        lease_until timestamptz,
        last_status_code integer,
        last_error text,
        last_attempt_at timestamptz,
        delivered_at timestamptz,
        -- Milliseconds, as cursors carry them.
        created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
        UNIQUE (endpoint_id, event_id)
      );
      -- What the dispatchers claim: due deliveries of one endpoint, soonest first.
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (endpoint_id, next_attempt_at, position) WHERE status IN ('PENDING', 'FAILED');
      -- Whether an earlier delivery of the same endpoint and key is still undelivered (order per member).
      CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, key, position) WHERE status IN ('PENDING', 'FAILED');
      -- Deliveries in flight per endpoint (its concurrency bound).
      CREATE INDEX webhook_deliveries_leased ON webhook_deliveries (endpoint_id, lease_until) WHERE lease_until IS NOT NULL;
      -- Whether an endpoint is failing (it then gets fewer requests in flight).
      CREATE INDEX webhook_deliveries_failed ON webhook_deliveries (endpoint_id) WHERE status = 'FAILED';
      -- An endpoint's history, page by page.
      CREATE INDEX webhook_deliveries_history ON webhook_deliveries (endpoint_id, created_at, id);
    `);
  }

  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE webhook_deliveries; DROP TABLE webhook_endpoints;');
  }
}
