import { Client } from 'pg';
import { DataSource, type MigrationInterface, type QueryRunner } from 'typeorm';
import { connectAndMigrate, severity } from '../db';
import type { Logger } from '../logger';
import type { BusConsumer, BusEvent, EventBus, PublishedEvent } from './bus';

export class CreateBusEvents1763800000000 implements MigrationInterface {
  name = 'CreateBusEvents1763800000000';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE TABLE bus_events (
        position bigserial PRIMARY KEY,
        source text NOT NULL,
        source_id text NOT NULL,
        type text NOT NULL,
        tenant text NOT NULL,
        key text NOT NULL,
        payload jsonb NOT NULL,
        occurred_at timestamptz NOT NULL,
        published_at timestamptz NOT NULL DEFAULT now(),
        UNIQUE (source, source_id)
      )`);
    await runner.query('CREATE INDEX bus_events_tenant_key ON bus_events (tenant, key, position)');
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TABLE bus_events');
  }
}

/**
 * Positions in commit order. A bigserial alone hands out positions at insert time, so with several
 * relays publishing at once a transaction holding position 7 can commit after another's position 8
 * was read, and a consumer resuming "after 8" never sees 7. Here every insert takes one
 * transaction-level advisory lock before it draws its position and keeps it until commit: a
 * position is only drawn once every smaller one is committed (or rolled back), so whatever a
 * reader sees is a gap-free prefix, and `max(position)` is a safe place to start.
 *
 * Why not keep the free-running sequence and read only below `pg_snapshot_xmin` (the oldest
 * transaction still running)? Transaction ids and positions are not drawn in the same order — a
 * relay's batch draws one xid, then 500 positions, while another relay draws its xid and a
 * position in between — so "xid below the horizon" does not mean "every smaller position is
 * final", and the cursor would have to become (xid, position). The lock costs little: publishing
 * is one short statement per relay batch, and every subgraph's relay already batches.
 *
 * A trigger rather than a lock taken in `publish`, so no writer (a second implementation, a manual
 * INSERT) can bypass it; the column default is dropped so a position is only ever drawn under it.
 */
export class SerializeBusPositions1765000000000 implements MigrationInterface {
  name = 'SerializeBusPositions1765000000000';
  async up(runner: QueryRunner): Promise<void> {
    await runner.query(`
      CREATE FUNCTION bus_events_position() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_advisory_xact_lock(hashtext('bus_events.position'));
        NEW.position := nextval('bus_events_position_seq');
        RETURN NEW;
      END $$`);
    await runner.query('ALTER TABLE bus_events ALTER COLUMN position DROP DEFAULT');
    await runner.query('CREATE TRIGGER bus_events_position BEFORE INSERT ON bus_events FOR EACH ROW EXECUTE FUNCTION bus_events_position()');
  }
  async down(runner: QueryRunner): Promise<void> {
    await runner.query('DROP TRIGGER bus_events_position ON bus_events');
    await runner.query('DROP FUNCTION bus_events_position()');
    await runner.query(`ALTER TABLE bus_events ALTER COLUMN position SET DEFAULT nextval('bus_events_position_seq')`);
  }
}

interface BusRow {
  position: string;
  source: string;
  source_id: string;
  type: string;
  tenant: string;
  key: string;
  payload: unknown;
  occurred_at: Date;
}

/** The default bus: a table in its own database (`loyalty_events`), NOTIFY to wake listeners. */
export class PostgresEventBus implements EventBus {
  private constructor(
    private readonly db: DataSource,
    private readonly url: string,
    private readonly log?: Logger,
  ) {}

  static async connect(url: string, log?: Logger): Promise<PostgresEventBus> {
    const db = new DataSource({
      type: 'postgres',
      url,
      migrations: [CreateBusEvents1763800000000, SerializeBusPositions1765000000000],
      migrationsTableName: 'bus_migrations',
      synchronize: false,
      extra: { max: 4, application_name: 'event-bus' },
    });
    return new PostgresEventBus(await connectAndMigrate(db, url), url, log);
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
    const rows = (await this.db.query(
      'SELECT * FROM bus_events WHERE position > $1 ORDER BY position LIMIT $2',
      [after, limit],
    )) as BusRow[];
    return rows.map((row) => ({
      position: String(row.position),
      source: row.source,
      sourceId: row.source_id,
      type: row.type,
      tenant: row.tenant,
      key: row.key,
      payload: row.payload,
      occurredAt: new Date(row.occurred_at).toISOString(),
    }));
  }

  /** Safe to start from: positions are committed in order (see SerializeBusPositions), so none below it can still appear. */
  async head(): Promise<string> {
    const [row] = (await this.db.query('SELECT COALESCE(max(position), 0) AS position FROM bus_events')) as { position: string }[];
    return String(row!.position);
  }

  /**
   * LISTEN wakes the consumer as soon as a publisher commits; a slow poll covers lost
   * notifications. A lost LISTEN connection is reopened with back-off, and reading resumes from
   * the last delivered position.
   */
  async consume(from: string, onEvents: (events: BusEvent[]) => Promise<void>, options: { pollMs?: number; batch?: number } = {}): Promise<BusConsumer> {
    const pollMs = options.pollMs ?? 1000;
    const batch = options.batch ?? 500;
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
    await this.db.destroy();
  }
}
