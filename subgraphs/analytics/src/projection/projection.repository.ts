import type { DataSource, EntityManager } from 'typeorm';

/** The counters of `daily_stats`, one row per tenant and day. */
export const DAILY_COLUMNS = ['members_enrolled', 'points_issued', 'points_redeemed', 'points_expired', 'redemptions', 'purchase_revenue'] as const;
export type DailyColumn = (typeof DAILY_COLUMNS)[number];

export interface DailyTotals {
  tenant: string;
  day: string;
  values: Record<DailyColumn, number>;
}

/** A member active (earning, redeeming or credited) on a day. */
export interface MemberDay {
  tenant: string;
  day: string;
  memberId: string;
}

/** A completed redemption where it was counted: its day, reward and store (`''` without one). */
export interface RedemptionFact {
  redemptionId: string;
  tenant: string;
  rewardId: string;
  storeId: string;
  day: string;
  points: number;
  memberId: string;
  /** ISO instant of the redemption. */
  at: string;
}

/** A member enrolled at an ISO instant. */
export interface MemberFact {
  tenant: string;
  memberId: string;
  enrolledAt: string;
}

/** An activity of a member: when, and what it spent (0 but for purchases). */
export interface ActivityFact {
  activityId: string;
  tenant: string;
  memberId: string;
  occurredAt: string;
  purchaseAmount: number;
}

/** What one campaign's rules awarded one activity. */
export interface AwardFact {
  activityId: string;
  campaignId: string;
  memberId: string;
  occurredAt: string;
  points: number;
}

/** A campaign's experiment as campaigns announced it last (null: it runs none). */
export interface ExperimentFact {
  tenant: string;
  campaignId: string;
  experiment: { holdoutPercent: number; variants: { key: string; weight: number }[]; startedAt: string | null; endedAt: string | null } | null;
}

/** The tables of redemptions per day of one reward, or of one store. */
export type DayTable = 'reward_days' | 'store_days';

/** Redemptions and points of one reward (or store: `key`) on one day; negative to take cancellations off. */
export interface DayTotal {
  tenant: string;
  key: string;
  day: string;
  redemptions: number;
  points: number;
}

export interface CampaignTotals {
  campaignId: string;
  tenant: string;
  points: number;
  activities: number;
}

export interface CampaignMember {
  campaignId: string;
  memberId: string;
}

interface CancelledRow {
  tenant: string;
  reward_id: string;
  store_id: string;
  day: string;
  points_spent: number;
}

const DAY_TABLE_KEYS: Record<DayTable, { column: string; type: string }> = {
  reward_days: { column: 'reward_id', type: 'uuid' },
  store_days: { column: 'store_id', type: 'text' },
};

/**
 * The read models' writes. Every write adds to what is there (multi-row upserts), and takes the
 * manager of the batch's transaction: the projector holds its position's row lock across all of
 * them, so a batch is applied whole, once.
 */
export class ProjectionRepository {
  constructor(private readonly db: DataSource) {}

  async insertFacts(manager: EntityManager, facts: readonly RedemptionFact[]): Promise<void> {
    await manager.query(
      `INSERT INTO redemption_facts (redemption_id, tenant, reward_id, store_id, day, points_spent, member_id, redeemed_at)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::text[], $5::date[], $6::int[], $7::uuid[], $8::timestamptz[]) ON CONFLICT DO NOTHING`,
      [facts.map((f) => f.redemptionId), facts.map((f) => f.tenant), facts.map((f) => f.rewardId), facts.map((f) => f.storeId), facts.map((f) => f.day),
        facts.map((f) => f.points), facts.map((f) => f.memberId), facts.map((f) => f.at)],
    );
  }

  /** Marks the redemptions cancelled, once: those this call marked, where they were counted. */
  async cancelFacts(manager: EntityManager, redemptionIds: readonly string[]): Promise<Omit<RedemptionFact, 'redemptionId' | 'memberId' | 'at'>[]> {
    const [rows] = await manager.query<[CancelledRow[], number]>(
      `UPDATE redemption_facts SET cancelled = true WHERE redemption_id = ANY($1::uuid[]) AND NOT cancelled
       RETURNING tenant, reward_id, store_id, to_char(day, 'YYYY-MM-DD') AS day, points_spent`,
      [redemptionIds],
    );
    return rows.map((f) => ({ tenant: f.tenant, rewardId: f.reward_id, storeId: f.store_id, day: f.day, points: f.points_spent }));
  }

  async addDaily(manager: EntityManager, daily: readonly DailyTotals[]): Promise<void> {
    const sets = DAILY_COLUMNS.map((c) => `${c} = daily_stats.${c} + EXCLUDED.${c}`).join(', ');
    await manager.query(
      `INSERT INTO daily_stats (tenant, day, ${DAILY_COLUMNS.join(', ')})
       SELECT * FROM unnest($1::text[], $2::date[], ${DAILY_COLUMNS.map((_, i) => `$${i + 3}::bigint[]`).join(', ')})
       ON CONFLICT (tenant, day) DO UPDATE SET ${sets}`,
      [daily.map((d) => d.tenant), daily.map((d) => d.day), ...DAILY_COLUMNS.map((c) => daily.map((d) => d.values[c]))],
    );
  }

  /** The members active on each day, and among the tenant's members ever active. */
  async addMemberDays(manager: EntityManager, memberDays: readonly MemberDay[]): Promise<void> {
    await manager.query(
      'INSERT INTO member_days (tenant, day, member_id) SELECT * FROM unnest($1::text[], $2::date[], $3::uuid[]) ON CONFLICT DO NOTHING',
      [memberDays.map((m) => m.tenant), memberDays.map((m) => m.day), memberDays.map((m) => m.memberId)],
    );
    const members = [...new Map(memberDays.map((m) => [`${m.tenant}|${m.memberId}`, m])).values()];
    await manager.query('INSERT INTO active_members (tenant, member_id) SELECT * FROM unnest($1::text[], $2::uuid[]) ON CONFLICT DO NOTHING', [
      members.map((m) => m.tenant),
      members.map((m) => m.memberId),
    ]);
  }

  async addDayTotals(manager: EntityManager, table: DayTable, totals: readonly DayTotal[]): Promise<void> {
    const { column, type } = DAY_TABLE_KEYS[table];
    await manager.query(
      `INSERT INTO ${table} (tenant, ${column}, day, redemptions, points_spent)
       SELECT * FROM unnest($1::text[], $2::${type}[], $3::date[], $4::int[], $5::bigint[])
       ON CONFLICT (tenant, day, ${column}) DO UPDATE
         SET redemptions = ${table}.redemptions + EXCLUDED.redemptions, points_spent = ${table}.points_spent + EXCLUDED.points_spent`,
      [totals.map((t) => t.tenant), totals.map((t) => t.key), totals.map((t) => t.day), totals.map((t) => t.redemptions), totals.map((t) => t.points)],
    );
  }

  async addCampaigns(manager: EntityManager, campaigns: readonly CampaignTotals[]): Promise<void> {
    await manager.query(
      `INSERT INTO campaign_stats (campaign_id, tenant, points_issued, activities)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[], $4::int[])
       ON CONFLICT (campaign_id) DO UPDATE
         SET points_issued = campaign_stats.points_issued + EXCLUDED.points_issued, activities = campaign_stats.activities + EXCLUDED.activities`,
      [campaigns.map((c) => c.campaignId), campaigns.map((c) => c.tenant), campaigns.map((c) => c.points), campaigns.map((c) => c.activities)],
    );
  }

  async addCampaignMembers(manager: EntityManager, members: readonly CampaignMember[]): Promise<void> {
    await manager.query('INSERT INTO campaign_members (campaign_id, member_id) SELECT * FROM unnest($1::uuid[], $2::uuid[]) ON CONFLICT DO NOTHING', [
      members.map((m) => m.campaignId),
      members.map((m) => m.memberId),
    ]);
  }

  async addMembers(manager: EntityManager, members: readonly MemberFact[]): Promise<void> {
    await manager.query(
      `INSERT INTO member_facts (tenant, member_id, enrolled_at) SELECT * FROM unnest($1::text[], $2::uuid[], $3::timestamptz[])
       ON CONFLICT (tenant, member_id) DO NOTHING`,
      [members.map((m) => m.tenant), members.map((m) => m.memberId), members.map((m) => m.enrolledAt)],
    );
  }

  async addActivities(manager: EntityManager, activities: readonly ActivityFact[]): Promise<void> {
    await manager.query(
      `INSERT INTO activity_facts (activity_id, tenant, member_id, occurred_at, purchase_amount)
       SELECT * FROM unnest($1::uuid[], $2::text[], $3::uuid[], $4::timestamptz[], $5::bigint[]) ON CONFLICT DO NOTHING`,
      [activities.map((a) => a.activityId), activities.map((a) => a.tenant), activities.map((a) => a.memberId), activities.map((a) => a.occurredAt),
        activities.map((a) => a.purchaseAmount)],
    );
  }

  async addAwards(manager: EntityManager, awards: readonly AwardFact[]): Promise<void> {
    await manager.query(
      `INSERT INTO award_facts (activity_id, campaign_id, member_id, occurred_at, points)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::timestamptz[], $5::bigint[]) ON CONFLICT DO NOTHING`,
      [awards.map((a) => a.activityId), awards.map((a) => a.campaignId), awards.map((a) => a.memberId), awards.map((a) => a.occurredAt), awards.map((a) => a.points)],
    );
  }

  /** The campaign's experiment as announced last: set, replaced, or removed (null). */
  async setExperiment(manager: EntityManager, fact: ExperimentFact): Promise<void> {
    const { tenant, campaignId, experiment } = fact;
    if (!experiment) {
      await manager.query('DELETE FROM experiments WHERE campaign_id = $1 AND tenant = $2', [campaignId, tenant]);
      return;
    }
    await manager.query(
      `INSERT INTO experiments (campaign_id, tenant, holdout_percent, variants, started_at, ended_at) VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (campaign_id) DO UPDATE SET holdout_percent = EXCLUDED.holdout_percent, variants = EXCLUDED.variants,
         started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at WHERE experiments.tenant = EXCLUDED.tenant`,
      [campaignId, tenant, experiment.holdoutPercent, JSON.stringify(experiment.variants), experiment.startedAt, experiment.endedAt],
    );
  }
}
