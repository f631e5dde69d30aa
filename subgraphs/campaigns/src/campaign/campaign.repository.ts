import type { DataSource } from 'typeorm';
import { CampaignEntity } from './campaign.entity';
import { endedSql, notEndedSql, runningSql } from './campaign.status';
import { CampaignStatus } from './campaign.type';

export class CampaignRepository {
  constructor(private readonly db: DataSource) {}

  async findByIds(tenant: string, ids: readonly string[]): Promise<(CampaignEntity | null)[]> {
    const rows = await this.db
      .getRepository(CampaignEntity)
      .createQueryBuilder('c')
      .where('c.tenant = :tenant AND c.id = ANY(:ids)', { tenant, ids })
      .getMany();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  private filtered(tenant: string, status?: CampaignStatus | null) {
    const qb = this.db.getRepository(CampaignEntity).createQueryBuilder('c').where('c.tenant = :tenant', { tenant });
    if (status === CampaignStatus.ENDED) qb.andWhere(endedSql('c'));
    else if (status) qb.andWhere(`c.status = :status AND ${notEndedSql('c')}`, { status });
    return qb;
  }

  async list(tenant: string, status: CampaignStatus | null | undefined, first: number, after?: [string, string]) {
    const qb = this.filtered(tenant, status);
    if (after) qb.andWhere('(c.created_at, c.id) > (:at, :id)', { at: after[0], id: after[1] });
    const rows = await qb.orderBy('c.created_at', 'ASC').addOrderBy('c.id', 'ASC').take(first + 1).getMany();
    return { rows: rows.slice(0, first), hasNextPage: rows.length > first };
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
}
