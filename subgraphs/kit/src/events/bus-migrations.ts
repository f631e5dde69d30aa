import type { MigrationInterface, QueryRunner } from 'typeorm';
import { DataSource } from 'typeorm';
import { connectAndMigrate } from '../db';

// The event bus's schema, migrated by the subgraphs at start-up (boot.ts). The bus itself
// (postgres-bus.ts) is plain pg, so the gateway consumes it without loading TypeORM.

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

/** Creates the bus database and its tables when missing, and applies any pending bus migration. */
export async function migrateEventBus(url: string): Promise<void> {
  const db = new DataSource({
    type: 'postgres',
    url,
    migrations: [CreateBusEvents1763800000000, SerializeBusPositions1765000000000],
    migrationsTableName: 'bus_migrations',
    synchronize: false,
    // Two connections: one holds the migration lock while the other migrates.
    extra: { max: 2, application_name: 'event-bus' },
  });
  await connectAndMigrate(db, url);
  await db.destroy();
}
