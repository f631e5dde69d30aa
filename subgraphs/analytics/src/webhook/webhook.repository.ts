import type { DataSource, EntityManager } from 'typeorm';

export interface EndpointRow {
  id: string;
  tenant: string;
  url: string;
  event_types: string[];
  active: boolean;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
  created_at: Date;
}

export interface DeliveryRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: string;
  status: string;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  next_attempt_at: Date | null;
  delivered_at: Date | null;
  created_at: Date;
}

/** An event to queue for the tenant's matching endpoints. */
export interface QueuedEvent {
  tenant: string;
  eventId: string;
  /** The webhook name (`points.balance_changed`). */
  type: string;
  key: string;
  position: string;
  occurredAt: string;
  body: string;
}

/** A delivery a dispatcher holds: what to send, where, and what the schedule needs. */
export interface ClaimedDelivery {
  id: string;
  endpoint_id: string;
  event_id: string;
  /** The attempt this claim is (the fencing token of its result). */
  attempts: number;
  failures: number;
  retry_from: Date;
  body: string;
  url: string;
  secret: string;
  previous_secret: string | null;
  previous_secret_expires_at: Date | null;
}

export interface AttemptResult {
  id: string;
  attempt: number;
  status: 'DELIVERED' | 'FAILED' | 'DEAD';
  statusCode: number | null;
  error: string | null;
  nextAttemptAt: Date | null;
  at: Date;
}

const ENDPOINT_COLUMNS = 'id, tenant, url, event_types, active, secret, previous_secret, previous_secret_expires_at, created_at';
const DELIVERY_COLUMNS = 'id, endpoint_id, event_id, event_type, status, attempts, last_status_code, last_error, next_attempt_at, delivered_at, created_at';

/** Undelivered: what still blocks later deliveries of its key, and what dispatchers may claim. */
const OPEN = `('PENDING', 'FAILED')`;

/**
 * The SQL of webhooks. Writes take the manager of the caller's transaction; every read and write
 * of the API is scoped by tenant, so another tenant's id is simply not found.
 */
export class WebhookRepository {
  constructor(private readonly db: DataSource) {}

  async insertEndpoint(manager: EntityManager, endpoint: { tenant: string; url: string; eventTypes: string[]; active: boolean; secret: string }): Promise<EndpointRow> {
    const [row] = await manager.query<EndpointRow[]>(
      `INSERT INTO webhook_endpoints (tenant, url, event_types, active, secret) VALUES ($1, $2, $3, $4, $5) RETURNING ${ENDPOINT_COLUMNS}`,
      [endpoint.tenant, endpoint.url, endpoint.eventTypes, endpoint.active, endpoint.secret],
    );
    return row!;
  }

  async updateEndpoint(manager: EntityManager, tenant: string, id: string, change: { url: string; eventTypes: string[]; active: boolean }): Promise<EndpointRow | undefined> {
    const [rows] = await manager.query<[EndpointRow[], number]>(
      `UPDATE webhook_endpoints SET url = $3, event_types = $4, active = $5, updated_at = now() WHERE tenant = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
      [tenant, id, change.url, change.eventTypes, change.active],
    );
    return rows[0];
  }

  /** Deletes the endpoint and, with it, its deliveries (a dispatcher's late result then updates nothing). */
  async deleteEndpoint(manager: EntityManager, tenant: string, id: string): Promise<EndpointRow | undefined> {
    const [rows] = await manager.query<[EndpointRow[], number]>(`DELETE FROM webhook_endpoints WHERE tenant = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`, [tenant, id]);
    return rows[0];
  }

  /** The new secret becomes current; the current one stays valid for `keepSeconds` (the one before it is dropped). */
  async rotateSecret(manager: EntityManager, tenant: string, id: string, secret: string, keepSeconds: number): Promise<EndpointRow | undefined> {
    const [rows] = await manager.query<[EndpointRow[], number]>(
      `UPDATE webhook_endpoints
       SET previous_secret = CASE WHEN $4::int > 0 THEN secret END,
           previous_secret_expires_at = CASE WHEN $4::int > 0 THEN now() + make_interval(secs => $4::int) END,
           secret = $3, updated_at = now()
       WHERE tenant = $1 AND id = $2 RETURNING ${ENDPOINT_COLUMNS}`,
      [tenant, id, secret, keepSeconds],
    );
    return rows[0];
  }

  async listEndpoints(tenant: string): Promise<EndpointRow[]> {
    return this.db.query<EndpointRow[]>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 ORDER BY created_at DESC, id DESC`, [tenant]);
  }

  async findEndpoint(tenant: string, id: string): Promise<EndpointRow | undefined> {
    const [row] = await this.db.query<EndpointRow[]>(`SELECT ${ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return row;
  }

  /** One page of an endpoint's deliveries, newest first, one row past the page. */
  async deliveries(tenant: string, endpointId: string, limit: number, before?: readonly [string, string]): Promise<DeliveryRow[]> {
    const params: unknown[] = [tenant, endpointId, limit];
    let where = '';
    if (before) {
      params.push(before[0], before[1]);
      where = 'AND (created_at, id) < ($4::timestamptz, $5::uuid)';
    }
    return this.db.query<DeliveryRow[]>(
      `SELECT ${DELIVERY_COLUMNS} FROM webhook_deliveries WHERE tenant = $1 AND endpoint_id = $2 ${where} ORDER BY created_at DESC, id DESC LIMIT $3`,
      params,
    );
  }

  async countDeliveries(tenant: string, endpointId: string): Promise<number> {
    const [row] = await this.db.query<{ n: number }[]>('SELECT count(*)::int AS n FROM webhook_deliveries WHERE tenant = $1 AND endpoint_id = $2', [tenant, endpointId]);
    return row!.n;
  }

  /**
   * Queues the delivery again, due now, with a fresh retry window (from its next attempt). One in flight keeps its lease
   * (its result decides); a DELIVERED or DEAD one becomes PENDING.
   */
  async redeliver(manager: EntityManager, tenant: string, id: string): Promise<DeliveryRow | undefined> {
    const [rows] = await manager.query<[DeliveryRow[], number]>(
      `UPDATE webhook_deliveries
       SET status = CASE WHEN status IN ${OPEN} THEN status ELSE 'PENDING' END,
           next_attempt_at = CASE WHEN lease_until > now() THEN next_attempt_at ELSE now() END,
           failures = 0, retry_from = now()
       WHERE tenant = $1 AND id = $2 RETURNING ${DELIVERY_COLUMNS}`,
      [tenant, id],
    );
    return rows[0];
  }

  // --- the bus consumer -------------------------------------------------------------------------

  /** Registers the consumer at `position` the first time (later starts keep their own). */
  /** Of `tenants`, those with an active endpoint: events of the others cost no body and no row. */
  async tenantsWithEndpoints(manager: EntityManager, tenants: readonly string[]): Promise<Set<string>> {
    const rows = await manager.query<{ tenant: string }[]>('SELECT DISTINCT tenant FROM webhook_endpoints WHERE active AND tenant = ANY($1::text[])', [tenants]);
    return new Set(rows.map((r) => r.tenant));
  }

  /**
   * One statement for a batch: a delivery for every active endpoint of the event's tenant that
   * takes its type (or `*`) and existed when it occurred; an event already queued for an endpoint
   * (a replayed batch) is not queued twice.
   */
  async queue(manager: EntityManager, events: readonly QueuedEvent[]): Promise<number> {
    const [, count] = await manager.query<[unknown[], number]>(
      `INSERT INTO webhook_deliveries (endpoint_id, tenant, event_id, event_type, key, position, body, next_attempt_at)
       SELECT e.id, ev.tenant, ev.event_id, ev.type, ev.key, ev.position, ev.body, now()
       FROM unnest($1::text[], $2::uuid[], $3::text[], $4::text[], $5::bigint[], $6::timestamptz[], $7::text[])
              AS ev(tenant, event_id, type, key, position, occurred_at, body)
       JOIN webhook_endpoints e ON e.tenant = ev.tenant AND e.active AND e.created_at <= ev.occurred_at
                               AND (ev.type = ANY(e.event_types) OR '*' = ANY(e.event_types))
       ORDER BY ev.position
       ON CONFLICT (endpoint_id, event_id) DO NOTHING`,
      [
        events.map((e) => e.tenant),
        events.map((e) => e.eventId),
        events.map((e) => e.type),
        events.map((e) => e.key),
        events.map((e) => e.position),
        events.map((e) => e.occurredAt),
        events.map((e) => e.body),
      ],
    );
    return count;
  }

  // --- the dispatcher ---------------------------------------------------------------------------

  /**
   * Claims up to `limit` due deliveries for `owner`, at most `perEndpoint` in flight per endpoint
   * across every replica (`perFailingEndpoint` while one of its deliveries is FAILED), each endpoint taking its share in turn (endpoints in random order, each
   * its own LIMIT), so an endpoint with a deep queue never crowds out the others. Endpoint rows
   * are locked for the statement (`SKIP LOCKED`: a replica claiming for one leaves it to the
   * other), so two replicas never exceed its bound together. A delivery with an earlier undelivered
   * one of the same endpoint and key waits for it (order per member). A claim leases the delivery:
   * `next_attempt_at` moves to the lease's end, when it comes due again unless a result arrived.
   */
  async claim(owner: string, limit: number, perEndpoint: number, perFailingEndpoint: number, leaseMs: number): Promise<ClaimedDelivery[]> {
    const [rows] = await this.db.query<[ClaimedDelivery[], number]>(
      // Written so the plan does not depend on statistics (a fresh table has none): each check is a
      // scalar subquery that reads one index range, never a join the planner may turn inside out.
      `WITH endpoints AS (
         SELECT e.id,
                -- An endpoint with a failed delivery waiting for its retry gets fewer requests at once
                -- until it answers again: many dead endpoints cannot fill a replica's capacity.
                CASE WHEN EXISTS (SELECT 1 FROM webhook_deliveries x WHERE x.endpoint_id = e.id AND x.status = 'FAILED') THEN least($3::int, $5::int) ELSE $3::int END
                - (SELECT count(*) FROM webhook_deliveries f WHERE f.endpoint_id = e.id AND f.lease_until > now())::int AS slots
         FROM webhook_endpoints e
         WHERE e.active
           AND (SELECT d.next_attempt_at FROM webhook_deliveries d
                WHERE d.endpoint_id = e.id AND d.status IN ${OPEN} ORDER BY d.next_attempt_at LIMIT 1) <= now()
         ORDER BY random()
         FOR NO KEY UPDATE OF e SKIP LOCKED
       ),
       picked AS (
         SELECT d.id FROM endpoints e CROSS JOIN LATERAL (
           SELECT d.id FROM webhook_deliveries d
           WHERE d.endpoint_id = e.id AND d.status IN ${OPEN} AND d.next_attempt_at <= now()
             -- the first undelivered of its key: no earlier one is PENDING or FAILED
             AND d.position = (SELECT min(p.position) FROM webhook_deliveries p
                               WHERE p.endpoint_id = d.endpoint_id AND p.key = d.key AND p.status IN ${OPEN})
           ORDER BY d.next_attempt_at, d.position
           LIMIT greatest(e.slots, 0)
           FOR UPDATE OF d SKIP LOCKED
         ) d
         LIMIT $2
       )
       UPDATE webhook_deliveries d
       SET attempts = d.attempts + 1, lease_owner = $1,
           -- The retry window starts at the first attempt: time spent queued behind a member's
           -- earlier events does not use it up.
           retry_from = CASE WHEN d.failures = 0 THEN now() ELSE d.retry_from END, lease_until = now() + make_interval(secs => $4::float8 / 1000),
           next_attempt_at = now() + make_interval(secs => $4::float8 / 1000)
       FROM picked, webhook_endpoints e
       WHERE d.id = picked.id AND e.id = d.endpoint_id
       RETURNING d.id, d.endpoint_id, d.event_id, d.attempts, d.failures, d.retry_from, d.body,
                 e.url, e.secret, e.previous_secret, e.previous_secret_expires_at`,
      [owner, limit, perEndpoint, leaseMs, perFailingEndpoint],
    );
    return rows;
  }

  /**
   * Records attempts, one statement for many. A result counts only for the attempt that claimed the
   * delivery (`attempts` as a fencing token): a dispatcher whose lease ran out and whose delivery
   * was claimed again records nothing.
   */
  async complete(results: readonly AttemptResult[]): Promise<void> {
    await this.db.query(
      `UPDATE webhook_deliveries d
       SET status = r.status, last_status_code = r.code, last_error = r.error, last_attempt_at = r.at,
           next_attempt_at = r.next_at, lease_owner = NULL, lease_until = NULL,
           failures = CASE WHEN r.status = 'DELIVERED' THEN d.failures ELSE d.failures + 1 END,
           delivered_at = CASE WHEN r.status = 'DELIVERED' THEN r.at ELSE d.delivered_at END
       FROM unnest($1::uuid[], $2::int[], $3::text[], $4::int[], $5::text[], $6::timestamptz[], $7::timestamptz[])
              AS r(id, attempt, status, code, error, next_at, at)
       WHERE d.id = r.id AND d.attempts = r.attempt AND d.status IN ${OPEN}`,
      [
        results.map((r) => r.id),
        results.map((r) => r.attempt),
        results.map((r) => r.status),
        results.map((r) => r.statusCode),
        results.map((r) => r.error),
        results.map((r) => r.nextAttemptAt),
        results.map((r) => r.at),
      ],
    );
  }
}
