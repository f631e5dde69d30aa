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
  code_pool: boolean;
  segment_ids: string[] | null;
}

const TERMS_COLUMNS = 'cost_points, stock, min_tier_rank, limit_per_member, valid_from, valid_until, active, code_pool, segment_ids';

const toTerms = (row: TermsRow): RewardTerms => ({
  active: row.active,
  validFrom: row.valid_from,
  validUntil: row.valid_until,
  stock: row.stock,
  minTierRank: row.min_tier_rank,
  limitPerMember: row.limit_per_member,
  costPoints: row.cost_points,
  codePool: row.code_pool,
  segmentIds: row.segment_ids,
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

  /** Of `keys`, those the tenant's pools hold already (any reward's, free or taken). */
  async knownCodeKeys(manager: EntityManager, tenant: string, keys: string[]): Promise<Set<string>> {
    const rows = await manager.query<{ code_key: string }[]>('SELECT code_key FROM reward_codes WHERE tenant = $1 AND code_key = ANY($2)', [tenant, keys]);
    return new Set(rows.map((row) => row.code_key));
  }

  /** Of `codes` (generated codes' stored form), those a redemption of the tenant's already has as its code. */
  async issuedCodes(manager: EntityManager, tenant: string, codes: string[]): Promise<Set<string>> {
    const rows = await manager.query<{ code: string }[]>('SELECT code FROM redemptions WHERE tenant = $1 AND code = ANY($2)', [tenant, codes]);
    return new Set(rows.map((row) => row.code));
  }

  /** Adds the codes to the reward's pool, in the order given (their `seq`), and marks the reward as having one. */
  async addCodes(manager: EntityManager, tenant: string, rewardId: string, codes: { code: string; key: string }[]): Promise<void> {
    await manager.query(
      `INSERT INTO reward_codes (tenant, reward_id, code, code_key)
       SELECT $1, $2, c.code, c.code_key FROM unnest($3::text[], $4::text[]) WITH ORDINALITY AS c(code, code_key, n) ORDER BY c.n`,
      [tenant, rewardId, codes.map((c) => c.code), codes.map((c) => c.key)],
    );
    await manager.query('UPDATE rewards SET code_pool = true, updated_at = now() WHERE id = $1', [rewardId]);
  }

  /**
   * The reward's oldest free code, taken for the redemption (the row locked until the caller's
   * transaction ends; concurrent takers skip it and take the next). Null when the pool is empty.
   */
  async takeCode(manager: EntityManager, rewardId: string, redemptionId: string): Promise<string | null> {
    const [rows] = await manager.query<[{ code: string }[], number]>(
      `UPDATE reward_codes SET redemption_id = $2
       WHERE id = (SELECT id FROM reward_codes WHERE reward_id = $1 AND redemption_id IS NULL ORDER BY seq FOR UPDATE SKIP LOCKED LIMIT 1)
       RETURNING code`,
      [rewardId, redemptionId],
    );
    return rows[0]?.code ?? null;
  }

  /** Whether the reward's pool has a free code (read only; the taking is `takeCode`). */
  async hasFreeCode(manager: EntityManager, rewardId: string): Promise<boolean> {
    const [row] = await manager.query<{ free: boolean }[]>('SELECT EXISTS (SELECT 1 FROM reward_codes WHERE reward_id = $1 AND redemption_id IS NULL) AS free', [rewardId]);
    return row!.free;
  }

  /** Free codes of each reward with a pool; rewards without one are left out. */
  async codesAvailable(tenant: string, ids: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ id: string; free: number }[]>(
      `SELECT r.id, (SELECT count(*)::int FROM reward_codes c WHERE c.reward_id = r.id AND c.redemption_id IS NULL) AS free
       FROM rewards r WHERE r.tenant = $1 AND r.id = ANY($2) AND r.code_pool`,
      [tenant, ids],
    );
    return new Map(rows.map((row) => [row.id, row.free]));
  }
}
