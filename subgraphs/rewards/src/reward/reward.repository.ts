import type { DataSource } from 'typeorm';
import { gatesSql } from './reward.eligibility';
import { RewardEntity } from './reward.entity';
import type { RewardFilter } from './reward.type';

export class RewardRepository {
  constructor(private readonly db: DataSource) {}

  async findByIds(tenant: string, ids: readonly string[]): Promise<(RewardEntity | null)[]> {
    const rows = await this.db
      .getRepository(RewardEntity)
      .createQueryBuilder('r')
      .where('r.tenant = :tenant AND r.id = ANY(:ids)', { tenant, ids })
      .getMany();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /**
   * activeOnly (the default) means what a member could redeem today: the availability gates of
   * reward.eligibility.ts (active and inside its validity window).
   */
  private filtered(tenant: string, filter: RewardFilter) {
    const qb = this.db.getRepository(RewardEntity).createQueryBuilder('r').where('r.tenant = :tenant', { tenant });
    if (filter.type) qb.andWhere('r.type = :type', { type: filter.type });
    if (filter.activeOnly ?? true) {
      qb.andWhere(gatesSql(['availability']));
    }
    if (filter.maxCostPoints != null) qb.andWhere('r.cost_points <= :max', { max: filter.maxCostPoints });
    return qb;
  }

  async list(tenant: string, filter: RewardFilter, first: number, after?: [string, string]) {
    const qb = this.filtered(tenant, filter);
    if (after) qb.andWhere('(r.created_at, r.id) > (:at, :id)', { at: after[0], id: after[1] });
    const rows = await qb.orderBy('r.created_at', 'ASC').addOrderBy('r.id', 'ASC').take(first + 1).getMany();
    return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
  }

  count(tenant: string, filter: RewardFilter): Promise<number> {
    return this.filtered(tenant, filter).getCount();
  }
}
