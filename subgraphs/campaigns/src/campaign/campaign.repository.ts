import type { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { findByIdsInKeyOrder, keysetPage, type RowsPage, type TimeIdCursor } from '@loyalty/kit';
import { CampaignEntity } from './campaign.entity';
import { endedSql, notEndedSql, runningSql } from './campaign.status';
import { CampaignStatus } from './campaign.type';

/** What a campaign's budget granted a reservation, and its points issued with it. */
export interface BudgetClaim {
  granted: number;
  pointsIssued: number;
}

export class CampaignRepository {
  constructor(private readonly db: DataSource) {}

  findByIds(tenant: string, ids: readonly string[]): Promise<(CampaignEntity | null)[]> {
    return findByIdsInKeyOrder(this.db.getRepository(CampaignEntity), tenant, ids);
  }

  async insert(manager: EntityManager, campaign: Partial<CampaignEntity>): Promise<CampaignEntity> {
    const repository = manager.getRepository(CampaignEntity);
    const saved = await repository.save(repository.create(campaign));
    return repository.findOneByOrFail({ id: saved.id });
  }

  /** The tenant's campaign, row-locked until the transaction ends; null if it has none by that id. */
  lock(manager: EntityManager, tenant: string, id: string): Promise<CampaignEntity | null> {
    return manager.getRepository(CampaignEntity).findOne({ where: { tenant, id }, lock: { mode: 'pessimistic_write' } });
  }

  async update(manager: EntityManager, id: string, columns: Partial<CampaignEntity>): Promise<void> {
    await manager.getRepository(CampaignEntity).update({ id }, columns as QueryDeepPartialEntity<CampaignEntity>);
  }

  /** The campaign as `manager` sees it now (after its own writes, inside a transaction). */
  get(manager: EntityManager, id: string): Promise<CampaignEntity> {
    return manager.getRepository(CampaignEntity).findOneByOrFail({ id });
  }

  private filtered(tenant: string, status?: CampaignStatus | null) {
    const qb = this.db.getRepository(CampaignEntity).createQueryBuilder('c').where('c.tenant = :tenant', { tenant });
    if (status === CampaignStatus.ENDED) qb.andWhere(endedSql('c'));
    else if (status) qb.andWhere(`c.status = :status AND ${notEndedSql('c')}`, { status });
    return qb;
  }

  list(tenant: string, status: CampaignStatus | null | undefined, first: number, after?: TimeIdCursor): Promise<RowsPage<CampaignEntity>> {
    return keysetPage(this.filtered(tenant, status), ['c.created_at', 'c.id'], first, after);
  }

  count(tenant: string, status?: CampaignStatus | null): Promise<number> {
    return this.filtered(tenant, status).getCount();
  }

  /** ACTIVE and inside its dates now. */
  running(tenant: string): Promise<CampaignEntity[]> {
    return this.db
      .getRepository(CampaignEntity)
      .createQueryBuilder('c')
      .where('c.tenant = :tenant', { tenant })
      .andWhere(runningSql('c'))
      .orderBy('c.created_at')
      .getMany();
  }

  /** The campaigns running at `at`, in id order, read without a lock: their budgets are reserved by `claimBudgets`. */
  runningAt(tenant: string, at: Date): Promise<CampaignEntity[]> {
    return this.db
      .getRepository(CampaignEntity)
      .createQueryBuilder('c')
      .where('c.tenant = :tenant', { tenant })
      .andWhere(runningSql('c', ':at'), { at })
      .orderBy('c.id')
      .getMany();
  }

  /**
   * Reserves points on campaigns' budgets in one statement: each campaign still running at `at`
   * issues what is wanted of it, clipped to what its budget has left (never past it). The rows are
   * taken in id order (so concurrent reservations never deadlock) and stay locked only until the
   * caller's transaction ends. Resolves to what each campaign granted, and its points issued after
   * that (absent: it granted nothing).
   */
  async claimBudgets(manager: EntityManager, wanted: ReadonlyMap<string, number>, at: Date): Promise<Map<string, BudgetClaim>> {
    if (wanted.size === 0) return new Map();
    // An UPDATE comes back from TypeORM's PostgreSQL driver as [rows, count].
    const [rows] = await manager.query<[{ id: string; granted: string; points_issued: string }[], number]>(
      `WITH wanted AS (SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS w(id, points)),
       claim AS (
         SELECT c.id, CASE WHEN c.max_points IS NULL THEN w.points ELSE LEAST(w.points, c.max_points - c.points_issued) END AS granted
         FROM campaigns c JOIN wanted w ON w.id = c.id
         WHERE ${runningSql('c', '$3')}
         ORDER BY c.id FOR NO KEY UPDATE OF c)
       UPDATE campaigns c SET points_issued = c.points_issued + claim.granted FROM claim
       WHERE c.id = claim.id AND claim.granted > 0 RETURNING c.id, claim.granted, c.points_issued`,
      [[...wanted.keys()], [...wanted.values()], at],
    );
    return new Map(rows.map((row) => [row.id, { granted: Number(row.granted), pointsIssued: Number(row.points_issued) }]));
  }

  /**
   * What `claimBudgets` would grant now, read and changed nothing (previewActivity): each campaign
   * still running at `at` grants what is wanted of it, clipped to what its budget has left.
   */
  async peekBudgets(wanted: ReadonlyMap<string, number>, at: Date): Promise<Map<string, BudgetClaim>> {
    if (wanted.size === 0) return new Map();
    const rows = await this.db.query<{ id: string; granted: string; points_issued: string }[]>(
      `WITH wanted AS (SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS w(id, points))
       SELECT c.id, CASE WHEN c.max_points IS NULL THEN w.points ELSE LEAST(w.points, c.max_points - c.points_issued) END AS granted, c.points_issued
       FROM campaigns c JOIN wanted w ON w.id = c.id WHERE ${runningSql('c', '$3')}`,
      [[...wanted.keys()], [...wanted.values()], at],
    );
    return new Map(
      rows.filter((row) => Number(row.granted) > 0).map((row) => [row.id, { granted: Number(row.granted), pointsIssued: Number(row.points_issued) + Number(row.granted) }]),
    );
  }

  /** Moves campaigns' issued points by the points given (negative to give budget back), in one statement, rows taken in id order. */
  async addIssued(manager: EntityManager, moves: ReadonlyMap<string, number>): Promise<void> {
    if (moves.size === 0) return;
    await manager.query(
      `WITH d AS (SELECT * FROM unnest($1::uuid[], $2::bigint[]) AS d(id, points)),
       locked AS (SELECT c.id FROM campaigns c JOIN d USING (id) ORDER BY c.id FOR NO KEY UPDATE OF c)
       UPDATE campaigns c SET points_issued = c.points_issued + d.points FROM d JOIN locked USING (id) WHERE c.id = d.id`,
      [[...moves.keys()], [...moves.values()]],
    );
  }
}
