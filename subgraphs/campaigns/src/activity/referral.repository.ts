import type { DataSource, EntityManager } from 'typeorm';

/** A referral reward still to be given: the referred member's first purchase, and who referred it. */
export interface PendingReferral {
  tenant: string;
  referredMemberId: string;
  referrerId: string;
  /** The first purchase's amount (minor units) and when it happened: what the REFERRAL activity carries. */
  amount: number | null;
  occurredAt: Date;
}

interface PendingRow {
  tenant: string;
  referred_member_id: string;
  referrer_id: string;
  amount: number | null;
  occurred_at: Date;
}

const toPending = (row: PendingRow): PendingReferral => ({
  tenant: row.tenant,
  referredMemberId: row.referred_member_id,
  referrerId: row.referrer_id,
  amount: row.amount,
  occurredAt: row.occurred_at,
});

const PENDING_SELECT = `SELECT r.tenant, r.referred_member_id, r.referrer_id, p.amount, p.occurred_at
  FROM referral_rewards r JOIN activities p ON p.id = r.purchase_activity_id`;

/** Referral rewards, one per referred member (migration 1763800000110). */
export class ReferralRepository {
  constructor(private readonly db: DataSource) {}

  /**
   * In the transaction storing a referred member's purchase: records the referral reward, unless
   * one is recorded already (an earlier purchase was the first). A concurrent first purchase waits
   * on the key until this transaction ends, then finds it taken (or takes it, if this one rolled
   * back). True when this purchase is the first.
   */
  async markFirstPurchase(manager: EntityManager, tenant: string, referredMemberId: string, referrerId: string, purchaseActivityId: string): Promise<boolean> {
    const rows = await manager.query<unknown[]>(
      `INSERT INTO referral_rewards (tenant, referred_member_id, referrer_id, purchase_activity_id) VALUES ($1, $2, $3, $4)
       ON CONFLICT (tenant, referred_member_id) DO NOTHING RETURNING 1`,
      [tenant, referredMemberId, referrerId, purchaseActivityId],
    );
    return rows.length > 0;
  }

  /** Referral rewards PENDING (a crash, members unreachable) for over `olderThanMs`, oldest first, across tenants. */
  async pending(olderThanMs: number, limit: number): Promise<PendingReferral[]> {
    const rows = await this.db.query<PendingRow[]>(
      `${PENDING_SELECT} WHERE r.status = 'PENDING' AND r.created_at < now() - make_interval(secs => $1) ORDER BY r.created_at LIMIT $2`,
      [olderThanMs / 1000, limit],
    );
    return rows.map(toPending);
  }

  /** Row-locks the reward while it is PENDING: false when another process gave it meanwhile. */
  async lockPending(manager: EntityManager, tenant: string, referredMemberId: string): Promise<boolean> {
    const rows = await manager.query<unknown[]>(
      `SELECT 1 FROM referral_rewards WHERE tenant = $1 AND referred_member_id = $2 AND status = 'PENDING' FOR UPDATE`,
      [tenant, referredMemberId],
    );
    return rows.length > 0;
  }

  /** DONE with the referrer's REFERRAL activity. */
  async done(manager: EntityManager, tenant: string, referredMemberId: string, activityId: string): Promise<void> {
    await manager.query(`UPDATE referral_rewards SET status = 'DONE', activity_id = $3 WHERE tenant = $1 AND referred_member_id = $2 AND status = 'PENDING'`, [
      tenant,
      referredMemberId,
      activityId,
    ]);
  }

  /** SKIPPED: the referrer cannot earn any more (erased). */
  async skipped(tenant: string, referredMemberId: string): Promise<void> {
    await this.db.query(`UPDATE referral_rewards SET status = 'SKIPPED' WHERE tenant = $1 AND referred_member_id = $2 AND status = 'PENDING'`, [tenant, referredMemberId]);
  }
}
