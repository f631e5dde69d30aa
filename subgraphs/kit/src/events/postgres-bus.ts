import { Client, Pool } from 'pg';
import type { Logger } from '../logger';
import { severity } from '../pg';
import type { BusConsumer, BusEvent, ConsumeOptions, EventBus, PublishedEvent } from './bus';

interface BusRow {
  position: string;
  source: string;
  source_id: string;
  type: string;
  tenant: string;
  key: string;
  payload: unknown;
  /** ISO 8601 in UTC, formatted by the server: a consumer reading a backlog parses no dates. */
  occurred_at: string;
}

const OCCURRED_AT = `to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at`;

const toBusEvent = (row: BusRow): BusEvent => ({
  position: String(row.position),
  source: row.source,
  sourceId: row.source_id,
  type: row.type,
  tenant: row.tenant,
  key: row.key,
  payload: row.payload,
  occurredAt: row.occurred_at,
});

/** The default bus: a table in its own database (`loyalty_events`), NOTIFY to wake listeners. */
export class PostgresEventBus implements EventBus {
  private constructor(
    private readonly db: Pool,
    private readonly url: string,
    private readonly log?: Logger,
  ) {}

  /**
   * Connects to a bus the subgraphs have set up (`migrateEventBus`, run by every subgraph at
   * start-up); fails fast when there is none yet, naming what to start first.
   */
  static async connect(url: string, log?: Logger): Promise<PostgresEventBus> {
    const db = new Pool({ connectionString: url, max: 4, application_name: 'event-bus' });
    // An idle connection the server closed: the pool replaces it on the next query.
    db.on('error', (error) => log?.[severity(error)]({ err: error }, 'event bus connection lost'));
    try {
      const { rows } = await db.query<{ name: string | null }>(`SELECT to_regclass('bus_events')::text AS name`);
      if (!rows[0]?.name) throw new Error('The event bus has no bus_events table yet: start a subgraph first (each one migrates the bus)');
    } catch (error) {
      await db.end().catch(() => undefined);
      throw error;
    }
    return new PostgresEventBus(db, url, log);
  }

  async publish(events: PublishedEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.db.query(
      `INSERT INTO bus_events (source, source_id, type, tenant, key, payload, occurred_at)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::jsonb[], $7::timestamptz[])
       ON CONFLICT (source, source_id) DO NOTHING`,
      [
        events.map((e) => e.source),
        events.map((e) => e.sourceId),
        events.map((e) => e.type),
        events.map((e) => e.tenant),
        events.map((e) => e.key),
        events.map((e) => JSON.stringify(e.payload)),
        events.map((e) => e.occurredAt),
      ],
    );
    await this.db.query(`SELECT pg_notify('bus_events', '')`);
  }

  async read(after: string, limit: number): Promise<BusEvent[]> {
    const { rows } = await this.db.query<BusRow>(
      `SELECT position, source, source_id, type, tenant, key, payload, ${OCCURRED_AT}
       FROM bus_events WHERE position > $1 ORDER BY position LIMIT $2`,
      [after, limit],
    );
    return rows.map(toBusEvent);
  }

  /**
   * The events of `types` among the next `limit` after `after`, and the position of the last one
   * looked at (whatever its type), so a filtered consumer moves on past events it does not read.
   */
  private async readTypes(after: string, limit: number, types: readonly string[]): Promise<{ events: BusEvent[]; scanned: string | undefined }> {
    const { rows } = await this.db.query<BusRow & { scanned: string }>(
      `WITH scan AS (SELECT position FROM bus_events WHERE position > $1 ORDER BY position LIMIT $2),
            last AS (SELECT max(position) AS scanned FROM scan)
       SELECT e.position, e.source, e.source_id, e.type, e.tenant, e.key, e.payload, to_char(e.occurred_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') AS occurred_at, last.scanned
       FROM last LEFT JOIN bus_events e ON e.position IN (SELECT position FROM scan) AND e.type = ANY($3::text[])
       ORDER BY e.position`,
      [after, limit, types],
    );
    // Nothing after `after`: the one row of `last` carries a NULL.
    const scanned = rows[0]?.scanned ?? null;
    return { events: rows.filter((row) => row.position !== null).map(toBusEvent), scanned: scanned === null ? undefined : String(scanned) };
  }

  /** Safe to start from: positions are committed in order (see SerializeBusPositions), so none below it can still appear. */
  async head(): Promise<string> {
    const { rows: [row] } = await this.db.query<{ position: string }>('SELECT COALESCE(max(position), 0) AS position FROM bus_events');
    return String(row!.position);
  }

  /**
   * LISTEN wakes the consumer as soon as a publisher commits; a slow poll covers lost
   * notifications. A lost LISTEN connection is reopened with back-off, and reading resumes from
   * the last delivered position.
   */
  async consume(from: string, onEvents: (events: BusEvent[]) => Promise<void>, options: ConsumeOptions = {}): Promise<BusConsumer> {
    const pollMs = options.pollMs ?? 1000;
    const batch = options.batch ?? 500;
    const types = options.types;
    let position = from;
    let closed = false;
    let listener: Client | undefined;
    let pumping: Promise<void> | undefined;
    let again = false;

    const pump = (): Promise<void> => {
      if (pumping) {
        again = true;
        return pumping;
      }
      pumping = (async () => {
        do {
          again = false;
          for (;;) {
            if (closed) return;
            if (types) {
              const { events, scanned } = await this.readTypes(position, batch, types);
              if (scanned === undefined) break;
              if (events.length > 0) await onEvents(events);
              position = scanned;
              continue;
            }
            const events = await this.read(position, batch);
            if (events.length === 0) break;
            await onEvents(events);
            position = events.at(-1)!.position;
            if (events.length < batch) break;
          }
        } while (again && !closed);
      })()
        .catch((error: unknown) => this.log?.[severity(error)]({ err: error }, 'event bus read failed; will retry'))
        .finally(() => (pumping = undefined));
      return pumping;
    };

    let retryMs = 100;
    const listen = async (): Promise<void> => {
      if (closed) return;
      const client = new Client({ connectionString: this.url, application_name: 'bus-consumer' });
      client.on('notification', () => void pump());
      client.on('error', (error) => {
        if (closed) return;
        this.log?.[severity(error)]({ err: error }, 'event bus listener lost its connection; reconnecting');
        listener = undefined;
        client.end().catch(() => undefined);
        setTimeout(() => void listen(), retryMs);
      });
      try {
        await client.connect();
        await client.query('LISTEN bus_events');
        listener = client;
        retryMs = 100;
        void pump(); // catch up with whatever was published while not listening
      } catch (error) {
        this.log?.[severity(error)]({ err: error }, 'event bus listener could not connect; retrying');
        client.end().catch(() => undefined);
        retryMs = Math.min(retryMs * 2, 5000);
        setTimeout(() => void listen(), retryMs);
      }
    };
    await listen();
    const timer = setInterval(() => void pump(), pollMs);
    return {
      position: () => position,
      connected: () => listener !== undefined,
      close: async () => {
        closed = true;
        clearInterval(timer);
        await pumping;
        await listener?.end().catch(() => undefined);
      },
    };
  }

  async close(): Promise<void> {
    await this.db.end();
  }
}
