import { Client } from 'pg';
import type { DataSource, EntityManager } from 'typeorm';
import { severity } from '../pg';
import type { Logger } from '../logger';
import type { EventBus, OutgoingEvent, PublishedEvent } from './bus';
import { checkEvent } from './catalog';

/**
 * Writes events to the producer's `outbox` table with the manager of the transaction that made the
 * change, so an event exists if and only if the change committed. An event that does not match
 * its catalogue schema throws InvalidEventError, which fails that transaction: a producer bug is
 * found where it is made, not by a consumer later.
 */
export async function appendOutbox(manager: EntityManager, outgoing: OutgoingEvent[]): Promise<void> {
  if (outgoing.length === 0) return;
  const events = outgoing.map(checkEvent);
  // One statement: the rows, and a NOTIFY that PostgreSQL delivers when the transaction commits.
  await manager.query(
    `WITH inserted AS (
       INSERT INTO outbox (type, tenant, key, payload)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::jsonb[]) RETURNING id)
     SELECT pg_notify('outbox', '')`,
    [
      events.map((e) => e.type),
      events.map((e) => e.tenant),
      events.map((e) => e.key),
      events.map((e) => JSON.stringify(e.payload)),
    ],
  );
}

/** The SQL of a producer's outbox table, for its migration. */
export const OUTBOX_TABLE_SQL = `
  CREATE TABLE outbox (
    id bigserial PRIMARY KEY,
    type text NOT NULL,
    tenant text NOT NULL,
    key text NOT NULL,
    payload jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
  );
  CREATE INDEX outbox_unpublished ON outbox (id) WHERE published_at IS NULL;`;

interface OutboxRow {
  id: string;
  type: string;
  tenant: string;
  key: string;
  payload: unknown;
  created_at: Date;
}

export interface OutboxRelayOptions {
  source: string;
  dataSource: DataSource;
  databaseUrl: string;
  bus: EventBus;
  log: Logger;
  batchSize?: number;
  pollMs?: number;
  /** How long to gather notifications before relaying (default 5 ms). */
  gatherMs?: number;
}

export interface OutboxRelay {
  /** Publishes everything pending now (used by tests and at shutdown). */
  flush(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Moves committed outbox rows to the bus, oldest first. One relay at a time holds the advisory lock
 * (replicas wait their turn), so rows leave in id order; a member's rows are written under that
 * member's account lock, so id order is the ledger's order for each member. A crash between
 * publishing and marking re-publishes, and the bus stores each (source, id) once.
 */
export function startOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { dataSource, bus, log, source } = options;
  const batchSize = options.batchSize ?? 500;
  const pollMs = options.pollMs ?? 1000;
  let stopped = false;
  let running: Promise<number> | undefined;
  let again = false;
  let listener: Client | undefined;
  let timer: NodeJS.Timeout | undefined;

  const relayOnce = async (): Promise<number> => {
    // Tagged so /metrics tells the relay's statements from those serving requests.
    const runner = dataSource.createQueryRunner();
    runner.data = { origin: 'outbox-relay' };
    return runner.manager.transaction(async (manager) => {
      const [{ locked }] = await manager.query<[{ locked: boolean }]>(`SELECT pg_try_advisory_xact_lock(hashtext('outbox-relay')) AS locked`);
      if (!locked) return 0;
      const rows = await manager.query<OutboxRow[]>(
        `SELECT id, type, tenant, key, payload, created_at FROM outbox
         WHERE published_at IS NULL ORDER BY id LIMIT $1`,
        [batchSize],
      );
      if (rows.length === 0) return 0;
      const events: PublishedEvent[] = rows.map((row) => ({
        source,
        sourceId: String(row.id),
        type: row.type,
        tenant: row.tenant,
        key: row.key,
        payload: row.payload,
        occurredAt: new Date(row.created_at).toISOString(),
      }));
      await bus.publish(events);
      await manager.query('UPDATE outbox SET published_at = now() WHERE id = ANY($1::bigint[])', [rows.map((r) => r.id)]);
      return rows.length;
    }).finally(() => runner.release());
  };

  const flush = async (): Promise<number> => {
    if (running) {
      again = true;
      return running;
    }
    running = (async () => {
      let total = 0;
      do {
        again = false;
        let moved: number;
        do {
          moved = await relayOnce();
          total += moved;
        } while (moved === batchSize && !stopped);
      } while (again && !stopped);
      return total;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  // Notifications arrive once per committed change; gathering them for a few milliseconds lets one
  // relay round trip carry many events under load, for a latency nobody watching will notice.
  let scheduled: NodeJS.Timeout | undefined;
  const kick = () => {
    if (stopped || scheduled) return;
    scheduled = setTimeout(() => {
      scheduled = undefined;
      flush().catch((error: unknown) => log[severity(error)]({ err: error }, 'outbox relay failed; will retry'));
    }, options.gatherMs ?? 5);
  };

  const listen = async () => {
    if (stopped) return;
    const client = new Client({ connectionString: options.databaseUrl });
    client.on('notification', kick);
    client.on('error', (error) => {
      if (stopped) return;
      log[severity(error)]({ err: error }, 'outbox listener lost its connection; reconnecting');
      listener = undefined;
      client.end().catch(() => undefined);
      setTimeout(() => void listen().catch(() => undefined), 1000);
    });
    try {
      await client.connect();
      await client.query('LISTEN outbox');
      listener = client;
      kick();
    } catch (error) {
      log[severity(error)]({ err: error }, 'outbox listener could not connect; retrying');
      client.end().catch(() => undefined);
      setTimeout(() => void listen().catch(() => undefined), 1000);
    }
  };

  void listen();
  const poll = () => {
    kick();
    if (!stopped) timer = setTimeout(poll, pollMs);
  };
  timer = setTimeout(poll, pollMs);

  return {
    flush,
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      if (scheduled) clearTimeout(scheduled);
      await running?.catch(() => undefined);
      await listener?.end().catch(() => undefined);
    },
  };
}
