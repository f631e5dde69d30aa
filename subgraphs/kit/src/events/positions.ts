import type { DataSource, EntityManager } from 'typeorm';

/** Where a subgraph's bus consumers keep their positions (analytics has had it from the start), for a migration. */
export const CONSUMER_POSITIONS_TABLE_SQL = 'CREATE TABLE IF NOT EXISTS consumer_positions (name text PRIMARY KEY, position bigint NOT NULL)';

/**
 * The stored positions of a subgraph's durable bus consumers (the projector, webhooks, erasure):
 * a consumer resumes from its row after a restart, and one that moves its position in the
 * transaction of its writes (locked with `lock`) applies each batch once.
 */
export class ConsumerPositions {
  constructor(private readonly db: DataSource) {}

  /** Gives a consumer its row, starting at `from`, unless it has one. */
  async register(name: string, from = '0'): Promise<void> {
    await this.db.query('INSERT INTO consumer_positions (name, position) VALUES ($1, $2) ON CONFLICT DO NOTHING', [name, from]);
  }

  /** The last position applied ('0' before any). */
  async position(name: string): Promise<string> {
    const [row] = await this.db.query<{ position: string }[]>('SELECT position FROM consumer_positions WHERE name = $1', [name]);
    return String(row?.position ?? 0);
  }

  /** The last position applied, row-locked until the transaction ends (the consumer is registered). */
  async lock(manager: EntityManager, name: string): Promise<string> {
    const [row] = await manager.query<{ position: string }[]>('SELECT position FROM consumer_positions WHERE name = $1 FOR UPDATE', [name]);
    return String(row!.position);
  }

  /** Moves the position forward (never back: a replica that applied less cannot undo another's progress). */
  async advance(manager: EntityManager, name: string, position: string): Promise<void> {
    await manager.query('UPDATE consumer_positions SET position = GREATEST(position, $2::bigint) WHERE name = $1', [name, position]);
  }
}
