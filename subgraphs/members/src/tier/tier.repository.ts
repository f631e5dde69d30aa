import type { DataSource } from 'typeorm';
import { TierEntity } from './tier.entity';

/**
 * The tenant's entry tier (the highest rank that needs no points): where a member without a
 * recorded tier stands. `tenant` is the SQL placeholder of the tenant, e.g. `$1` or `:tenant`.
 */
export const entryTierSql = (tenant: string) => `SELECT id, rank FROM tiers WHERE tenant = ${tenant} AND qualifying_points = 0 ORDER BY rank DESC LIMIT 1`;

export class TierRepository {
  constructor(private readonly db: DataSource) {}

  /** A tenant has a handful of tiers: they are read whole, once per request. */
  list(tenant: string): Promise<TierEntity[]> {
    return this.db.getRepository(TierEntity).find({ where: { tenant }, order: { rank: 'ASC' } });
  }

  /** Tiers are keyed by (tenant, rank): upserting a rank replaces that tier's name and thresholds. */
  async upsert(tenant: string, tier: Pick<TierEntity, 'name' | 'rank' | 'qualifyingPoints' | 'earnMultiplier'>): Promise<TierEntity> {
    const [row] = (await this.db.query(
      `INSERT INTO tiers (tenant, name, rank, qualifying_points, earn_multiplier) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, rank) DO UPDATE
         SET name = EXCLUDED.name, qualifying_points = EXCLUDED.qualifying_points,
             earn_multiplier = EXCLUDED.earn_multiplier, updated_at = now()
       RETURNING id`,
      [tenant, tier.name, tier.rank, tier.qualifyingPoints, tier.earnMultiplier],
    )) as { id: string }[];
    return this.db.getRepository(TierEntity).findOneByOrFail({ id: row!.id });
  }
}
