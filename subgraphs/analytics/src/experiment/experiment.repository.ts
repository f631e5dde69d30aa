import type { DataSource } from 'typeorm';
import { experimentBucketSql, type ExperimentShape } from '@loyalty/kit';
import type { Summary } from './welch.rule';

/** A campaign's experiment as analytics last heard of it. */
export interface StoredExperiment extends ExperimentShape {
  startedAt: Date | null;
  endedAt: Date | null;
}

/** The figures of one bucket's members: counts and sums, and the purchase amount per member summarised. */
export interface BucketFigures {
  bucket: number;
  members: number;
  activeMembers: number;
  activities: number;
  pointsIssued: number;
  purchaseAmount: number;
  redemptions: number;
  /** Purchase amount per member (zeros included): count, mean and squared deviations. */
  amount: Summary;
}

interface BucketRow {
  bucket: number;
  members: number;
  active_members: number;
  activities: string;
  points: string;
  amount: string;
  mean: string;
  m2: string;
  redemptions: number;
}

/** The experiment reports' reads: one set-based statement per report, whatever the tenant's size. */
export class ExperimentRepository {
  constructor(private readonly db: DataSource) {}

  async experiment(tenant: string, campaignId: string): Promise<StoredExperiment | null> {
    const [row] = await this.db.query<{ holdout_percent: number; variants: { key: string; weight: number }[]; started_at: Date | null; ended_at: Date | null }[]>(
      'SELECT holdout_percent, variants, started_at, ended_at FROM experiments WHERE tenant = $1 AND campaign_id = $2',
      [tenant, campaignId],
    );
    return row ? { holdoutPercent: row.holdout_percent, variants: row.variants, startedAt: row.started_at, endedAt: row.ended_at } : null;
  }

  /**
   * Per bucket (the kit's hash, computed here in SQL), the figures of the tenant's members enrolled
   * before the experiment ended, over what they did from its start to its end (now while it runs):
   * every activity of theirs, the points this campaign awarded them and their redemptions not cancelled.
   * Members are first summed up one by one (a member without any activity counts as zero), then per
   * bucket; the caller deals buckets to arms. An experiment that has not started has an empty window.
   */
  async buckets(tenant: string, campaignId: string, experiment: StoredExperiment): Promise<BucketFigures[]> {
    const from = experiment.startedAt ?? 'infinity';
    const to = experiment.endedAt ?? 'infinity';
    const rows = await this.db.query<BucketRow[]>(
      `WITH members AS (
         SELECT m.member_id, ${experimentBucketSql('m.tenant', '$2::uuid', 'm.member_id')} AS bucket
         FROM member_facts m WHERE m.tenant = $1 AND (m.enrolled_at IS NULL OR m.enrolled_at < $4::timestamptz)),
       acts AS (
         SELECT member_id, count(*) AS n, sum(purchase_amount) AS amount FROM activity_facts
         WHERE tenant = $1 AND occurred_at >= $3::timestamptz AND occurred_at < $4::timestamptz GROUP BY member_id),
       awards AS (
         SELECT member_id, sum(points) AS points FROM award_facts
         WHERE campaign_id = $2 AND occurred_at >= $3::timestamptz AND occurred_at < $4::timestamptz GROUP BY member_id),
       redeemed AS (
         SELECT member_id, count(*) AS n FROM redemption_facts
         WHERE tenant = $1 AND NOT cancelled AND redeemed_at >= $3::timestamptz AND redeemed_at < $4::timestamptz GROUP BY member_id),
       per_member AS (
         SELECT m.bucket, COALESCE(a.n, 0) AS n, COALESCE(a.amount, 0)::numeric AS amount, COALESCE(w.points, 0) AS points, COALESCE(r.n, 0) AS redemptions
         FROM members m LEFT JOIN acts a USING (member_id) LEFT JOIN awards w USING (member_id) LEFT JOIN redeemed r USING (member_id))
       SELECT bucket::int AS bucket, count(*)::int AS members, count(*) FILTER (WHERE n > 0)::int AS active_members,
              sum(n)::text AS activities, sum(points)::text AS points, sum(amount)::text AS amount,
              avg(amount)::text AS mean, COALESCE(var_samp(amount) * (count(*) - 1), 0)::text AS m2, sum(redemptions)::int AS redemptions
       FROM per_member GROUP BY bucket`,
      [tenant, campaignId, from, to],
    );
    return rows.map((row) => ({
      bucket: row.bucket,
      members: row.members,
      activeMembers: row.active_members,
      activities: Number(row.activities),
      pointsIssued: Number(row.points),
      purchaseAmount: Number(row.amount),
      redemptions: row.redemptions,
      amount: { n: row.members, mean: Number(row.mean), m2: Number(row.m2) },
    }));
  }
}
