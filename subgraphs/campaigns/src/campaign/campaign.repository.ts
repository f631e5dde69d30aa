import type { DataSource, EntityManager } from 'typeorm';
import type { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { findByIdsInKeyOrder, keysetPage, type RowsPage, type TimeIdCursor } from '@loyalty/kit';
import { CampaignEntity } from './campaign.entity';
import { endedSql, notEndedSql, runningSql } from './campaign.status';
import { CampaignStatus } from './campaign.type';

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

  /** The campaigns running at `at`, locked in id order (so concurrent lockers never deadlock). */
  lockRunning(manager: EntityManager, tenant: string, at: Date): Promise<CampaignEntity[]> {
    return manager
      .getRepository(CampaignEntity)
      .createQueryBuilder('c')
      .where('c.tenant = :tenant', { tenant })
      .andWhere(runningSql('c', ':at'), { at })
      .orderBy('c.id')
      .setLock('pessimistic_write')
      .getMany();
  }

  /** Moves a campaign's issued points by `points` (negative to give budget back). */
  async addIssued(manager: EntityManager, campaignId: string, points: number): Promise<void> {
    await manager.query('UPDATE campaigns SET points_issued = points_issued + $2 WHERE id = $1', [campaignId, points]);
  }
}
