import type { DataSource } from 'typeorm';
import { inKeyOrder } from '@loyalty/kit';
import type { CampaignPerformance, Interval, ProgramStats, RewardStat, StoreStat, TimelinePoint } from './stats.type';

/** A range as UTC days (`YYYY-MM-DD`, inclusive); `null` leaves that end open. */
export interface DayRange {
  from: string | null;
  to: string | null;
}

// PostgreSQL hands bigint sums over as strings; SafeInt carries them up to 2^53.
type Bigint = string;

interface ProgramRow {
  issued: Bigint;
  redeemed: Bigint;
  expired: Bigint;
  redemptions: Bigint;
  revenue: Bigint;
  members: Bigint;
  outstanding: Bigint;
  active: number;
}

interface PerformanceRow {
  campaign_id: string;
  points: Bigint;
  activities: number;
  members: number;
}

interface RewardRow {
  reward_id: string;
  redemptions: number;
  points: Bigint;
}

interface StoreRow {
  store_id: string;
  redemptions: number;
  points: Bigint;
}

interface TimelineRow {
  start: string;
  issued: Bigint;
  redeemed: Bigint;
  redemptions: Bigint;
}

const inRange = (column: string, from: number, to: number) =>
  `($${from}::date IS NULL OR ${column} >= $${from}::date) AND ($${to}::date IS NULL OR ${column} <= $${to}::date)`;

/** Reads of the read models the projector keeps, each one statement over pre-aggregated daily rows. */
export class StatsRepository {
  constructor(private readonly db: DataSource) {}

  async program(tenant: string, { from, to }: DayRange): Promise<ProgramStats> {
    const [row] = await this.db.query<ProgramRow[]>(
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
      [tenant, from, to],
    );
    // An aggregate without GROUP BY always returns its one row.
    const s = row!;
    return {
      members: Number(s.members),
      activeMembers: Number(s.active),
      pointsIssued: Number(s.issued),
      pointsRedeemed: Number(s.redeemed),
      pointsExpired: Number(s.expired),
      pointsOutstanding: Number(s.outstanding),
      redemptions: Number(s.redemptions),
      purchaseRevenue: Number(s.revenue),
    };
  }

  /** Performance of each campaign, in the order of `ids`; a campaign without activity has zeros. */
  async performance(tenant: string, ids: readonly string[]): Promise<CampaignPerformance[]> {
    const rows = await this.db.query<PerformanceRow[]>(
      `SELECT s.campaign_id, s.points_issued AS points, s.activities,
              (SELECT count(*)::int FROM campaign_members m WHERE m.campaign_id = s.campaign_id) AS members
       FROM campaign_stats s WHERE s.tenant = $1 AND s.campaign_id = ANY($2::uuid[])`,
      [tenant, ids],
    );
    return inKeyOrder(ids, rows, (r) => r.campaign_id).map((r) =>
      r ? { pointsIssued: Number(r.points), members: r.members, activities: r.activities } : { pointsIssued: 0, members: 0, activities: 0 },
    );
  }

  async topRewards(tenant: string, { from, to }: DayRange, limit: number): Promise<RewardStat[]> {
    const rows = await this.db.query<RewardRow[]>(
      `SELECT reward_id, sum(redemptions)::int AS redemptions, sum(points_spent) AS points
       FROM reward_days WHERE tenant = $1 AND ${inRange('day', 2, 3)}
       GROUP BY reward_id HAVING sum(redemptions) > 0 ORDER BY redemptions DESC, points DESC, reward_id LIMIT $4`,
      [tenant, from, to, limit],
    );
    return rows.map((r) => ({ reward: { id: r.reward_id }, redemptions: r.redemptions, pointsSpent: Number(r.points) }));
  }

  async redemptionsByStore(tenant: string, { from, to }: DayRange): Promise<StoreStat[]> {
    const rows = await this.db.query<StoreRow[]>(
      `SELECT store_id, sum(redemptions)::int AS redemptions, sum(points_spent) AS points
       FROM store_days WHERE tenant = $1 AND ${inRange('day', 2, 3)}
       GROUP BY store_id HAVING sum(redemptions) > 0 ORDER BY redemptions DESC, store_id`,
      [tenant, from, to],
    );
    return rows.map((r) => ({ storeId: r.store_id, redemptions: r.redemptions, pointsSpent: Number(r.points) }));
  }

  /** Every bucket from `from` to `to` (both closed), empty ones included. */
  async timeline(tenant: string, from: string, to: string, interval: Interval): Promise<TimelinePoint[]> {
    // The unit comes from the Interval enum, never from free text, so it may be spliced into SQL.
    const unit = interval.toLowerCase();
    const rows = await this.db.query<TimelineRow[]>(
      `WITH buckets AS (
         SELECT generate_series(date_trunc('${unit}', $2::date), date_trunc('${unit}', $3::date), interval '1 ${unit}')::date AS start)
       SELECT to_char(b.start, 'YYYY-MM-DD') AS start,
              COALESCE(sum(d.points_issued), 0) AS issued,
              COALESCE(sum(d.points_redeemed), 0) AS redeemed,
              COALESCE(sum(d.redemptions), 0) AS redemptions
       FROM buckets b
       LEFT JOIN daily_stats d ON d.tenant = $1 AND date_trunc('${unit}', d.day)::date = b.start AND d.day BETWEEN $2::date AND $3::date
       GROUP BY b.start ORDER BY b.start`,
      [tenant, from, to],
    );
    return rows.map((r) => ({
      start: new Date(`${r.start}T00:00:00.000Z`),
      pointsIssued: Number(r.issued),
      pointsRedeemed: Number(r.redeemed),
      redemptions: Number(r.redemptions),
    }));
  }
}
