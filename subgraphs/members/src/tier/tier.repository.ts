import type { DataSource, EntityManager } from 'typeorm';
import { TierEntity } from './tier.entity';
import type { TierLevel } from './tier.rule';

/**
 * The qualification window as SQL, over `earn_days.day` (UTC days): the buckets from `firstDay`
 * (a placeholder holding tier.rule.ts `qualificationFirstDay`) on. Every sum of qualifying points uses it.
 */
export const qualificationWindowSql = (firstDay: string) => `day >= ${firstDay}::date`;

/**
 * The entry tier (tier.rule.ts `entryTier`) as SQL, for filters that must run in the database.
 * `tenant` is the SQL placeholder of the tenant, e.g. `$1` or `:tenant`.
 */
export const entryTierSql = (tenant: string) => `SELECT id, rank FROM tiers WHERE tenant = ${tenant} AND qualifying_points = 0 ORDER BY rank DESC LIMIT 1`;

/** What the tier rule needs to decide an upgrade, read in the crediting transaction. */
export interface EarnStanding {
  tierId: string | null;
  retainedUntil: Date | null;
  /** EARN points of the window, the credit just booked included. */
  qualifyingPoints: number;
  tiers: TierLevel[];
}

export class TierRepository {
  constructor(private readonly db: DataSource) {}

  /** A tenant has a handful of tiers: they are read whole, once per request, in ascending rank. */
  list(tenant: string, manager: EntityManager = this.db.manager): Promise<TierEntity[]> {
    return manager.getRepository(TierEntity).find({ where: { tenant }, order: { rank: 'ASC' } });
  }

  /**
   * Tiers are keyed by (tenant, rank): upserting a rank replaces that tier's name and thresholds.
   * `thresholdChanged`: the rank is new or its `qualifyingPoints` moved (the tenant's tiers need a review).
   */
  async upsert(
    manager: EntityManager,
    tenant: string,
    tier: Pick<TierEntity, 'name' | 'rank' | 'qualifyingPoints' | 'earnMultiplier'>,
  ): Promise<{ tier: TierEntity; thresholdChanged: boolean }> {
    const [row] = await manager.query<{ id: string; previous: number | null }[]>(
      `WITH previous AS (SELECT qualifying_points FROM tiers WHERE tenant = $1 AND rank = $3)
       INSERT INTO tiers (tenant, name, rank, qualifying_points, earn_multiplier) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant, rank) DO UPDATE
         SET name = EXCLUDED.name, qualifying_points = EXCLUDED.qualifying_points,
             earn_multiplier = EXCLUDED.earn_multiplier, updated_at = now()
       RETURNING id, (SELECT qualifying_points FROM previous) AS previous`,
      [tenant, tier.name, tier.rank, tier.qualifyingPoints, tier.earnMultiplier],
    );
    const saved = await manager.getRepository(TierEntity).findOneByOrFail({ id: row!.id });
    return { tier: saved, thresholdChanged: row!.previous !== tier.qualifyingPoints };
  }

  /** EARN points of the qualification window (from `firstDay`, a UTC day) per member: what tiers qualify on. */
  async qualifyingPoints(tenant: string, memberIds: readonly string[], firstDay: string): Promise<Map<string, number>> {
    const rows = await this.db.query<{ member_id: string; points: string }[]>(
      `SELECT member_id, sum(points) AS points FROM earn_days
       WHERE tenant = $1 AND member_id = ANY($2) AND ${qualificationWindowSql('$3')}
       GROUP BY member_id`,
      [tenant, memberIds, firstDay],
    );
    // A bigint sum comes back from pg as a string.
    return new Map(rows.map((row) => [row.member_id, Number(row.points)]));
  }

  /**
   * Books an EARN credit into its day's bucket and reads, in the same statement, what the tier
   * rule decides on. The CTEs read the snapshot before the bucket update, so the credit is added
   * to the window's sum explicitly.
   */
  async bookEarn(manager: EntityManager, tenant: string, memberId: string, points: number, firstDay: string): Promise<EarnStanding | undefined> {
    const [row] = await manager.query<{ tier_id: string | null; tier_retained_until: Date | null; points: string; tiers: TierLevel[] }[]>(
      `WITH booked AS (
         INSERT INTO earn_days (tenant, member_id, day, points) VALUES ($1, $2, (now() AT TIME ZONE 'UTC')::date, $3)
         ON CONFLICT (member_id, day) DO UPDATE SET points = earn_days.points + EXCLUDED.points)
       SELECT m.tier_id, m.tier_retained_until,
              (SELECT COALESCE(sum(points), 0) + $3 FROM earn_days WHERE member_id = $2 AND ${qualificationWindowSql('$4')}) AS points,
              COALESCE((SELECT json_agg(json_build_object('id', t.id, 'name', t.name, 'rank', t.rank,
                                                          'qualifyingPoints', t.qualifying_points, 'earnMultiplier', t.earn_multiplier)
                                        ORDER BY t.rank)
                        FROM tiers t WHERE t.tenant = $1), '[]') AS tiers
       FROM members m WHERE m.id = $2`,
      [tenant, memberId, points, firstDay],
    );
    // A bigint sum comes back from pg as a string.
    return row ? { tierId: row.tier_id, retainedUntil: row.tier_retained_until, qualifyingPoints: Number(row.points), tiers: row.tiers } : undefined;
  }

  /**
   * A return: the points leave the qualification window's bucket of the day the order earned them
   * (qualifying points are EARN credits net of returns).
   */
  async unbookOrder(manager: EntityManager, memberId: string, orderId: string, points: number): Promise<void> {
    await manager.query(
      `UPDATE earn_days d SET points = GREATEST(d.points - $3, 0)
       FROM (SELECT (created_at AT TIME ZONE 'UTC')::date AS day FROM ledger_entries
             WHERE member_id = $1 AND order_id = $2 AND type = 'EARN' ORDER BY seq LIMIT 1) e
       WHERE d.member_id = $1 AND d.day = e.day`,
      [memberId, orderId, points],
    );
  }

  /** Records the tier a member now holds (an upgrade: any grace period ends with it). */
  async record(manager: EntityManager, memberId: string, tierId: string): Promise<void> {
    await manager.query('UPDATE members SET tier_id = $2, tier_retained_until = NULL, updated_at = now() WHERE id = $1', [memberId, tierId]);
  }

  /** Ends a member's grace period: it qualifies for its tier again. */
  async endGrace(manager: EntityManager, memberId: string): Promise<void> {
    await manager.query('UPDATE members SET tier_retained_until = NULL, updated_at = now() WHERE id = $1', [memberId]);
  }
}
