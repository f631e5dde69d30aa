import type { EntityManager } from 'typeorm';
import { qualificationWindowSql } from './tier.repository';

/** Which members a review pass walks: all of the tenant's, or those whose grace period is over. */
export type ReviewScope = 'all' | 'graceOver';

/** A member as a review reads it under its lock, with its EARN points of the window. */
export interface ReviewRow {
  id: string;
  tierId: string | null;
  retainedUntil: Date | null;
  downgradedAt: Date | null;
  qualifyingPoints: number;
}

/** What a review writes for one member: only members whose stored standing changes. */
export interface ReviewWrite {
  id: string;
  tierId: string | null;
  retainedUntil: Date | null;
  downgradedAt: Date | null;
}

const GRACE_OVER_SQL = 'tier_retained_until <= now()';

/** SQL of the tier review. Every query is scoped to the tenant. */
export class TierReviewRepository {
  /** Tenants with tiers: only they have anything to review. */
  async tenants(manager: EntityManager): Promise<string[]> {
    const rows = await manager.query<{ tenant: string }[]>('SELECT DISTINCT tenant FROM tiers');
    return rows.map((row) => row.tenant);
  }

  /** Claims the tenant's daily review of `day` (in the program's zone): true for exactly one caller. */
  async claimDay(manager: EntityManager, tenant: string, day: string): Promise<boolean> {
    const rows = await manager.query<unknown[]>('INSERT INTO tier_reviews (tenant, day) VALUES ($1, $2) ON CONFLICT DO NOTHING RETURNING day', [tenant, day]);
    return rows.length === 1;
  }

  /** Gives a claimed day back (its review failed), so the next run reviews the tenant again. */
  async releaseDay(manager: EntityManager, tenant: string, day: string): Promise<void> {
    await manager.query('DELETE FROM tier_reviews WHERE tenant = $1 AND day = $2', [tenant, day]);
  }

  /**
   * Forgets the tenant's daily reviews, in the transaction that changed a threshold: whichever
   * replica's maintenance runs next claims the day again and reviews with the new tiers, even if
   * the process that changed it stops before its own review.
   */
  async reopen(manager: EntityManager, tenant: string): Promise<void> {
    await manager.query('DELETE FROM tier_reviews WHERE tenant = $1', [tenant]);
  }

  /** The next page of member ids after `after` (keyset by id), unlocked: the batch locks what it can. */
  async page(manager: EntityManager, tenant: string, scope: ReviewScope, after: string | null, limit: number): Promise<string[]> {
    const rows = await manager.query<{ id: string }[]>(
      `SELECT id FROM members WHERE tenant = $1 AND ($2::uuid IS NULL OR id > $2) ${scope === 'graceOver' ? `AND ${GRACE_OVER_SQL}` : ''}
       ORDER BY id LIMIT $3`,
      [tenant, after, limit],
    );
    return rows.map((row) => row.id);
  }

  /**
   * Locks the members' account and member rows, skipping those another transaction holds: a
   * member being credited right now (the ledger holds its account) is left for a retry, and the
   * review never waits on, or blocks, a move for longer than its own short transaction.
   * NO KEY UPDATE: inserts that reference the member (ledger entries, earn days) are not blocked.
   */
  async lock(manager: EntityManager, tenant: string, ids: readonly string[]): Promise<string[]> {
    const rows = await manager.query<{ id: string }[]>(
      `SELECT m.id FROM members m JOIN point_accounts a ON a.member_id = m.id
       WHERE m.tenant = $1 AND m.id = ANY($2::uuid[])
       FOR NO KEY UPDATE OF m, a SKIP LOCKED`,
      [tenant, ids],
    );
    return rows.map((row) => row.id);
  }

  /**
   * The locked members as they stand now, with their EARN points of the window, in one statement.
   * A statement of its own after `lock`, so it sees every move committed before the lock was taken.
   */
  async standings(manager: EntityManager, ids: readonly string[], firstDay: string): Promise<ReviewRow[]> {
    const rows = await manager.query<{ id: string; tier_id: string | null; tier_retained_until: Date | null; tier_downgraded_at: Date | null; points: string }[]>(
      `SELECT m.id, m.tier_id, m.tier_retained_until, m.tier_downgraded_at,
              (SELECT COALESCE(sum(points), 0) FROM earn_days WHERE member_id = m.id AND ${qualificationWindowSql('$2')}) AS points
       FROM members m WHERE m.id = ANY($1::uuid[])`,
      [ids, firstDay],
    );
    return rows.map((row) => ({
      id: row.id,
      tierId: row.tier_id,
      retainedUntil: row.tier_retained_until,
      downgradedAt: row.tier_downgraded_at,
      // A bigint sum comes back from pg as a string.
      qualifyingPoints: Number(row.points),
    }));
  }

  /** Writes the changed standings in one statement. */
  async write(manager: EntityManager, writes: readonly ReviewWrite[]): Promise<void> {
    if (writes.length === 0) return;
    await manager.query(
      `UPDATE members m
       SET tier_id = w.tier_id, tier_retained_until = w.retained_until,
           tier_downgraded_at = w.downgraded_at, updated_at = now()
       FROM unnest($1::uuid[], $2::uuid[], $3::timestamptz[], $4::timestamptz[]) AS w(id, tier_id, retained_until, downgraded_at)
       WHERE m.id = w.id AND m.id = ANY($1)`, // by key: a join on unnest alone is planned as a scan of every member
      [writes.map((w) => w.id), writes.map((w) => w.tierId), writes.map((w) => w.retainedUntil), writes.map((w) => w.downgradedAt)],
    );
  }
}
