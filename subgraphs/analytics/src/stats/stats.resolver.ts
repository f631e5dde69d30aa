import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { BadInputError, type RequestContext } from '@loyalty/kit';
import type { DataSource } from 'typeorm';
import { DateRangeInput, ProgramStats } from './stats.type';

export interface AnalyticsContext extends RequestContext {
  db: DataSource;
}

@Resolver(() => ProgramStats)
export class StatsResolver {
  @Authorized(['admin', 'marketer'])
  @Query(() => ProgramStats)
  async programStats(
    @Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null,
    @Ctx() { identity, db }: AnalyticsContext,
  ): Promise<ProgramStats> {
    if (range?.from && range.to && range.from > range.to) throw new BadInputError('range.from', 'from must not be after to');
    const [row] = (await db.query(
      `SELECT COALESCE(sum(members_enrolled), 0)::int AS members,
              COALESCE(sum(points_issued), 0)::int AS issued,
              COALESCE(sum(points_redeemed), 0)::int AS redeemed,
              COALESCE(sum(points_expired), 0)::int AS expired,
              COALESCE(sum(redemptions), 0)::int AS redemptions,
              COALESCE(sum(purchase_revenue), 0)::int AS revenue,
              (SELECT count(*)::int FROM member_activity a WHERE a.tenant = $1
                 AND ($2::timestamptz IS NULL OR a.last_active_on >= $2::date)
                 AND ($3::timestamptz IS NULL OR a.last_active_on <= $3::date)) AS active
       FROM daily_stats WHERE tenant = $1 AND ($2::timestamptz IS NULL OR day >= $2::date) AND ($3::timestamptz IS NULL OR day <= $3::date)`,
      [identity.tenant, range?.from ?? null, range?.to ?? null],
    )) as { members: number; issued: number; redeemed: number; expired: number; redemptions: number; revenue: number; active: number }[];
    const stats = row!;
    return {
      members: stats.members,
      activeMembers: stats.active,
      pointsIssued: stats.issued,
      pointsRedeemed: stats.redeemed,
      pointsExpired: stats.expired,
      pointsOutstanding: stats.issued - stats.redeemed - stats.expired,
      redemptions: stats.redemptions,
      purchaseRevenue: stats.revenue,
    };
  }
}
