import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import DataLoader from 'dataloader';
import { BadInputError, type RequestContext } from '@loyalty/kit';
import type { DataSource } from 'typeorm';
import { access } from '../access';
import { Campaign, CampaignPerformance, DateRangeInput, Interval, ProgramStats, RewardStat, StoreStat, TimelinePoint } from './stats.type';

export interface AnalyticsContext extends RequestContext {
  db: DataSource;
  performance: DataLoader<string, CampaignPerformance>;
}

const DAY_MS = 86_400_000;
const MAX_DAYS = 3660;

/** A range as UTC days (inclusive); either end may be open. `from` after `to` is the caller's mistake. */
function days(range: DateRangeInput | null | undefined): { from: string | null; to: string | null } {
  if (range?.from && range.to && range.from > range.to) throw new BadInputError('range.from', 'from must not be after to');
  return { from: range?.from?.toISOString().slice(0, 10) ?? null, to: range?.to?.toISOString().slice(0, 10) ?? null };
}

const inRange = (column: string, from: number, to: number) =>
  `($${from}::date IS NULL OR ${column} >= $${from}::date) AND ($${to}::date IS NULL OR ${column} <= $${to}::date)`;

export function performanceLoader(db: DataSource, tenant: string) {
  return new DataLoader<string, CampaignPerformance>(async (ids) => {
    const rows = (await db.query(
      `SELECT s.campaign_id, s.points_issued AS points, s.activities,
              (SELECT count(*)::int FROM campaign_members m WHERE m.campaign_id = s.campaign_id) AS members
       FROM campaign_stats s WHERE s.tenant = $1 AND s.campaign_id = ANY($2::uuid[])`,
      [tenant, ids],
    )) as { campaign_id: string; points: string; activities: number; members: number }[];
    const byId = new Map(rows.map((r) => [r.campaign_id, { pointsIssued: Number(r.points), members: r.members, activities: r.activities }]));
    return ids.map((id) => byId.get(id) ?? { pointsIssued: 0, members: 0, activities: 0 });
  });
}

type ProgramTotal = 'issued' | 'redeemed' | 'expired' | 'redemptions' | 'revenue' | 'members' | 'outstanding' | 'active';

/** Reports, each answered from pre-aggregated daily rows: the cost grows with the range, not with events. */
@Resolver(() => ProgramStats)
export class StatsResolver {
  @Authorized(access['Query.programStats'])
  @Query(() => ProgramStats)
  async programStats(@Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null, @Ctx() { identity, db }: AnalyticsContext): Promise<ProgramStats> {
    const { from, to } = days(range);
    const [row] = (await db.query(
      `SELECT
         COALESCE(sum(points_issued) FILTER (WHERE ${inRange('day', 2, 3)}), 0)::bigint AS issued,
         COALESCE(sum(points_redeemed) FILTER (WHERE ${inRange('day', 2, 3)}), 0)::bigint AS redeemed,
         COALESCE(sum(points_expired) FILTER (WHERE ${inRange('day', 2, 3)}), 0)::bigint AS expired,
         COALESCE(sum(redemptions) FILTER (WHERE ${inRange('day', 2, 3)}), 0)::bigint AS redemptions,
         COALESCE(sum(purchase_revenue) FILTER (WHERE ${inRange('day', 2, 3)}), 0)::bigint AS revenue,
         COALESCE(sum(members_enrolled), 0)::bigint AS members,
         COALESCE(sum(points_issued - points_redeemed - points_expired), 0)::bigint AS outstanding,
         CASE WHEN $2::date IS NULL AND $3::date IS NULL
           THEN (SELECT count(*)::int FROM active_members WHERE tenant = $1)
           ELSE (SELECT count(DISTINCT member_id)::int FROM member_days WHERE tenant = $1 AND ${inRange('day', 2, 3)})
         END AS active
       FROM daily_stats WHERE tenant = $1 AND ($3::date IS NULL OR day <= $3::date)`,
      [identity.tenant, from, to],
    )) as Record<ProgramTotal, string | number>[];
    // PostgreSQL hands bigint sums over as strings; SafeInt carries them up to 2^53.
    const s = Object.fromEntries(Object.entries(row!).map(([key, value]) => [key, Number(value)])) as Record<ProgramTotal, number>;
    return {
      members: s.members,
      activeMembers: s.active,
      pointsIssued: s.issued,
      pointsRedeemed: s.redeemed,
      pointsExpired: s.expired,
      pointsOutstanding: s.outstanding,
      redemptions: s.redemptions,
      purchaseRevenue: s.revenue,
    };
  }

  @Authorized(access['Query.topRewards'])
  @Query(() => [RewardStat])
  async topRewards(
    @Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 10 }) limit: number | null,
    @Ctx() { identity, db }: AnalyticsContext,
  ): Promise<RewardStat[]> {
    const n = limit ?? 10;
    if (n < 1 || n > 100) throw new BadInputError('limit', 'limit must be between 1 and 100');
    const { from, to } = days(range);
    const rows = (await db.query(
      `SELECT reward_id, sum(redemptions)::int AS redemptions, sum(points_spent) AS points
       FROM reward_days WHERE tenant = $1 AND ${inRange('day', 2, 3)}
       GROUP BY reward_id HAVING sum(redemptions) > 0 ORDER BY redemptions DESC, points DESC, reward_id LIMIT $4`,
      [identity.tenant, from, to, n],
    )) as { reward_id: string; redemptions: number; points: string }[];
    return rows.map((r) => ({ reward: { id: r.reward_id }, redemptions: r.redemptions, pointsSpent: Number(r.points) }));
  }

  @Authorized(access['Query.redemptionsByStore'])
  @Query(() => [StoreStat])
  async redemptionsByStore(@Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null, @Ctx() { identity, db }: AnalyticsContext): Promise<StoreStat[]> {
    const { from, to } = days(range);
    const rows = (await db.query(
      `SELECT store_id, sum(redemptions)::int AS redemptions, sum(points_spent) AS points
       FROM store_days WHERE tenant = $1 AND ${inRange('day', 2, 3)}
       GROUP BY store_id HAVING sum(redemptions) > 0 ORDER BY redemptions DESC, store_id`,
      [identity.tenant, from, to],
    )) as { store_id: string; redemptions: number; points: string }[];
    return rows.map((r) => ({ storeId: r.store_id, redemptions: r.redemptions, pointsSpent: Number(r.points) }));
  }

  @Authorized(access['Query.pointsTimeline'])
  @Query(() => [TimelinePoint], { description: 'every bucket of the range, empty ones included' })
  async pointsTimeline(
    @Arg('range', () => DateRangeInput) range: DateRangeInput,
    @Arg('interval', () => Interval) interval: Interval,
    @Ctx() { identity, db }: AnalyticsContext,
  ): Promise<TimelinePoint[]> {
    const to = range.to ?? new Date();
    const from = range.from ?? new Date(to.getTime() - 30 * DAY_MS);
    days({ from, to });
    if ((to.getTime() - from.getTime()) / DAY_MS > MAX_DAYS) throw new BadInputError('range', `a timeline spans at most ${MAX_DAYS} days`);
    const unit = interval.toLowerCase();
    const rows = (await db.query(
      `WITH buckets AS (
         SELECT generate_series(date_trunc('${unit}', $2::date), date_trunc('${unit}', $3::date), interval '1 ${unit}')::date AS start)
       SELECT to_char(b.start, 'YYYY-MM-DD') AS start,
              COALESCE(sum(d.points_issued), 0) AS issued,
              COALESCE(sum(d.points_redeemed), 0) AS redeemed,
              COALESCE(sum(d.redemptions), 0) AS redemptions
       FROM buckets b
       LEFT JOIN daily_stats d ON d.tenant = $1 AND date_trunc('${unit}', d.day)::date = b.start AND d.day BETWEEN $2::date AND $3::date
       GROUP BY b.start ORDER BY b.start`,
      [identity.tenant, from.toISOString().slice(0, 10), to.toISOString().slice(0, 10)],
    )) as { start: string; issued: string; redeemed: string; redemptions: string }[];
    return rows.map((r) => ({
      start: new Date(`${r.start}T00:00:00.000Z`),
      pointsIssued: Number(r.issued),
      pointsRedeemed: Number(r.redeemed),
      redemptions: Number(r.redemptions),
    }));
  }
}

@Resolver(() => Campaign)
export class CampaignPerformanceResolver {
  @Authorized(access['Campaign.performance'])
  @FieldResolver(() => CampaignPerformance)
  performance(@Root() campaign: Campaign, @Ctx() { performance }: AnalyticsContext): Promise<CampaignPerformance> {
    return performance.load(campaign.id);
  }
}
