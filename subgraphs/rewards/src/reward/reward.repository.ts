import type { DataSource, EntityManager } from 'typeorm';
import { findByIdsInKeyOrder, keysetPage, type RowsPage, type TimeIdCursor } from '@loyalty/kit';
import { gatesSql, type RewardTerms } from './reward.eligibility';
import { RewardEntity } from './reward.entity';
import type { RewardFilter } from './reward.type';

interface TermsRow {
  cost_points: number;
  stock: number | null;
  min_tier_rank: number | null;
  limit_per_member: number | null;
  valid_from: Date | null;
  valid_until: Date | null;
  active: boolean;
}

const TERMS_COLUMNS = 'cost_points, stock, min_tier_rank, limit_per_member, valid_from, valid_until, active';

const toTerms = (row: TermsRow): RewardTerms => ({
  active: row.active,
  validFrom: row.valid_from,
  validUntil: row.valid_until,
  stock: row.stock,
  minTierRank: row.min_tier_rank,
  limitPerMember: row.limit_per_member,
  costPoints: row.cost_points,
});

export class RewardRepository {
  constructor(private readonly db: DataSource) {}

  findByIds(tenant: string, ids: readonly string[]): Promise<(RewardEntity | null)[]> {
    return findByIdsInKeyOrder(this.db.getRepository(RewardEntity), tenant, ids);
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

  list(tenant: string, filter: RewardFilter, first: number, after?: TimeIdCursor): Promise<RowsPage<RewardEntity>> {
    return keysetPage(this.filtered(tenant, filter), ['r.created_at', 'r.id'], first, after);
  }

  count(tenant: string, filter: RewardFilter): Promise<number> {
    return this.filtered(tenant, filter).getCount();
  }

  async insert(manager: EntityManager, reward: Partial<RewardEntity>): Promise<RewardEntity> {
    const repository = manager.getRepository(RewardEntity);
    const saved = await repository.save(repository.create(reward));
    return repository.findOneByOrFail({ id: saved.id });
  }

  /** Writes `columns` and reads the reward back as stored; null if the tenant has no reward by that id. */
  /** The reward, row-locked until the transaction ends. */
  lock(manager: EntityManager, tenant: string, id: string): Promise<RewardEntity | null> {
    return manager.getRepository(RewardEntity).findOne({ where: { tenant, id }, lock: { mode: 'pessimistic_write' } });
  }

  async update(manager: EntityManager, tenant: string, id: string, columns: Partial<RewardEntity>): Promise<RewardEntity | null> {
    const repository = manager.getRepository(RewardEntity);
    const result = await repository.update({ tenant, id }, columns);
    return result.affected ? repository.findOneByOrFail({ id }) : null;
  }

  /** The tenant's reward's terms, read without a lock (stock is taken by `takeStock`); null if it has none by that id. */
  async termsOf(tenant: string, id: string): Promise<RewardTerms | null> {
    const [row] = await this.db.query<TermsRow[]>(`SELECT ${TERMS_COLUMNS} FROM rewards WHERE tenant = $1 AND id = $2`, [tenant, id]);
    return row ? toTerms(row) : null;
  }

  async terms(id: string): Promise<RewardTerms | null> {
    const [row] = await this.db.query<TermsRow[]>(`SELECT ${TERMS_COLUMNS} FROM rewards WHERE id = $1`, [id]);
    return row ? toTerms(row) : null;
  }

  /**
   * One unit of stock out, if there is one left: one conditional statement (the row stays locked
   * only until the caller's transaction ends). False when the stock is out.
   */
  async takeStock(manager: EntityManager, id: string): Promise<boolean> {
    const [, changed] = await manager.query<[unknown[], number]>('UPDATE rewards SET stock = stock - 1, updated_at = now() WHERE id = $1 AND stock > 0', [id]);
    return changed > 0;
  }

  /** One unit of stock back, unless the reward's stock is unlimited. */
  async restock(manager: EntityManager, id: string): Promise<void> {
    await manager.query('UPDATE rewards SET stock = stock + 1, updated_at = now() WHERE id = $1 AND stock IS NOT NULL', [id]);
  }
}
