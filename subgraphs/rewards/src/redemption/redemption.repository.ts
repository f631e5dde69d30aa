import type { DataSource } from 'typeorm';
import type { MemberSnapshot } from '@loyalty/kit';
import { RewardEntity } from '../reward/reward.entity';
import { gatesSql } from '../reward/reward.eligibility';
import { RedemptionEntity, type RedemptionStatusValue } from './redemption.entity';

/** Batched reads for member fields: one statement for any number of members. */
export class RedemptionRepository {
  constructor(private readonly db: DataSource) {}

  async byIds(tenant: string, ids: readonly string[]): Promise<(RedemptionEntity | null)[]> {
    const rows = await this.db
      .getRepository(RedemptionEntity)
      .createQueryBuilder('r')
      .where('r.tenant = :tenant AND r.id = ANY(:ids)', { tenant, ids })
      .getMany();
    const byId = new Map(rows.map((row) => [row.id, row]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** The newest `first + 1` redemptions in `statuses` of each member, before the (createdAt, id) cursor. */
  async latest(
    tenant: string,
    memberIds: readonly string[],
    statuses: readonly RedemptionStatusValue[],
    first: number,
    before?: [string, string],
  ): Promise<Map<string, RedemptionEntity[]>> {
    const ids = (await this.db.query(
      `SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY member_id ORDER BY created_at DESC, id DESC) AS n
         FROM redemptions
         WHERE tenant = $1 AND member_id = ANY($2) AND status = ANY($6)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
       ) ranked WHERE n <= $3`,
      [tenant, memberIds, first + 1, before?.[0] ?? null, before?.[1] ?? null, statuses],
    )) as { id: string }[];
    const rows = ids.length
      ? await this.db
          .getRepository(RedemptionEntity)
          .createQueryBuilder('r')
          .where('r.id = ANY(:ids)', { ids: ids.map((r) => r.id) })
          .orderBy('r.created_at', 'DESC')
          .addOrderBy('r.id', 'DESC')
          .getMany()
      : [];
    const byMember = new Map<string, RedemptionEntity[]>();
    for (const row of rows) byMember.set(row.memberId, [...(byMember.get(row.memberId) ?? []), row]);
    return byMember;
  }

  async counts(tenant: string, memberIds: readonly string[], statuses: readonly RedemptionStatusValue[]): Promise<Map<string, number>> {
    const rows = (await this.db.query(
      'SELECT member_id, count(*)::int AS n FROM redemptions WHERE tenant = $1 AND member_id = ANY($2) AND status = ANY($3) GROUP BY member_id',
      [tenant, memberIds, statuses],
    )) as { member_id: string; n: number }[];
    return new Map(rows.map((row) => [row.member_id, row.n]));
  }

  /** What each member could redeem right now: every gate of reward.eligibility.ts, on the current balance. */
  async available(tenant: string, members: MemberSnapshot[]): Promise<Map<string, RewardEntity[]>> {
    if (members.length === 0) return new Map();
    const rows = (await this.db.query(
      `SELECT m.member_id, r.id FROM unnest($2::uuid[], $3::bool[], $4::int[], $5::int[]) AS m(member_id, active, rank, balance)
       JOIN rewards r ON r.tenant = $1 AND ${gatesSql()}
       ORDER BY m.member_id, r.cost_points, r.id`,
      [tenant, members.map((m) => m.id), members.map((m) => m.status === 'ACTIVE'), members.map((m) => m.tier.rank), members.map((m) => m.balance)],
    )) as { member_id: string; id: string }[];
    const rewards = rows.length
      ? await this.db.getRepository(RewardEntity).createQueryBuilder('r').where('r.id = ANY(:ids)', { ids: [...new Set(rows.map((r) => r.id))] }).getMany()
      : [];
    const byId = new Map(rewards.map((reward) => [reward.id, reward]));
    const byMember = new Map<string, RewardEntity[]>();
    for (const row of rows) byMember.set(row.member_id, [...(byMember.get(row.member_id) ?? []), byId.get(row.id)!]);
    return byMember;
  }
}
