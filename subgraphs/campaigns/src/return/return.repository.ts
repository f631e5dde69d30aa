import type { DataSource, EntityManager } from 'typeorm';
import type { AwardShare, Reversal } from './return.rule';

export type ReturnStatus = 'PENDING' | 'REVERSED' | 'FAILED';

/** A refusal by the ledger, kept with the return: a replay of its key is refused the same way. */
export interface Refusal {
  code: string;
  message: string;
  field: string | null;
}

/** A stored return of (part of) an order. */
export interface OrderReturn {
  id: string;
  tenant: string;
  activityId: string;
  memberId: string;
  orderId: string;
  amount: number;
  /** What the return reverses: its share of the order's points. */
  points: number;
  requestHash: string;
  status: ReturnStatus;
  pointsReversed: number | null;
  pointsUnrecovered: number | null;
  transactionId: string | null;
  refusal: Refusal | null;
}

export type NewReturn = Pick<OrderReturn, 'tenant' | 'activityId' | 'memberId' | 'orderId' | 'amount' | 'points' | 'requestHash' | 'status'> & {
  idempotencyKey: string;
  /** Set for a return that reverses nothing, which is final as soon as it is stored. */
  pointsReversed: number | null;
  pointsUnrecovered: number | null;
};

/** What the ledger answered: what was taken back, what the member had spent, the REVERSAL entry. */
export interface ReturnOutcome {
  pointsReversed: number;
  pointsUnrecovered: number;
  transactionId: string | null;
}

interface ReturnRow {
  id: string;
  tenant: string;
  activity_id: string;
  member_id: string;
  order_id: string;
  amount: number;
  points: number;
  request_hash: string;
  status: ReturnStatus;
  points_reversed: number | null;
  points_unrecovered: number | null;
  transaction_id: string | null;
  refusal: Refusal | null;
}

const COLUMNS = 'id, tenant, activity_id, member_id, order_id, amount, points, request_hash, status, points_reversed, points_unrecovered, transaction_id, refusal';

const toReturn = (row: ReturnRow): OrderReturn => ({
  id: row.id,
  tenant: row.tenant,
  activityId: row.activity_id,
  memberId: row.member_id,
  orderId: row.order_id,
  amount: row.amount,
  points: row.points,
  requestHash: row.request_hash,
  status: row.status,
  pointsReversed: row.points_reversed,
  pointsUnrecovered: row.points_unrecovered,
  transactionId: row.transaction_id,
  refusal: row.refusal,
});

/** Returns and each campaign rule's share of what they took back. Writes take the caller's manager. */
export class ReturnRepository {
  constructor(private readonly db: DataSource) {}

  async byKey(tenant: string, idempotencyKey: string): Promise<OrderReturn | null> {
    const [row] = await this.db.query<ReturnRow[]>(`SELECT ${COLUMNS} FROM returns WHERE tenant = $1 AND idempotency_key = $2`, [tenant, idempotencyKey]);
    return row ? toReturn(row) : null;
  }

  /** Returns PENDING (a crash, members unreachable) for over `olderThanMs`, oldest first. */
  async pending(olderThanMs: number, limit: number): Promise<OrderReturn[]> {
    const rows = await this.db.query<ReturnRow[]>(
      `SELECT ${COLUMNS} FROM returns WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => $1) ORDER BY created_at LIMIT $2`,
      [olderThanMs / 1000, limit],
    );
    return rows.map(toReturn);
  }

  /** The amount of the activity's order returned so far; a refused return counts for nothing. */
  async returnedAmount(manager: EntityManager, activityId: string): Promise<number> {
    const [row] = await manager.query<{ returned: number }[]>(
      `SELECT COALESCE(sum(amount), 0)::bigint AS returned FROM returns WHERE activity_id = $1 AND status <> 'FAILED'`,
      [activityId],
    );
    return Number(row!.returned);
  }

  /** Stores the return; null when one with its idempotency key is stored already (nothing written). */
  async insert(manager: EntityManager, r: NewReturn): Promise<string | null> {
    const [row] = await manager.query<{ id: string }[]>(
      `INSERT INTO returns (tenant, activity_id, member_id, order_id, amount, points, idempotency_key, request_hash, status, points_reversed, points_unrecovered)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
       ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
      [r.tenant, r.activityId, r.memberId, r.orderId, r.amount, r.points, r.idempotencyKey, r.requestHash, r.status, r.pointsReversed, r.pointsUnrecovered],
    );
    return row?.id ?? null;
  }

  /** REVERSED with the ledger's outcome, if still PENDING: whether this call did it. */
  async reversed(manager: EntityManager, id: string, outcome: ReturnOutcome): Promise<boolean> {
    const [, count] = await manager.query<[unknown[], number]>(
      `UPDATE returns SET status = 'REVERSED', points_reversed = $2, points_unrecovered = $3, transaction_id = $4 WHERE id = $1 AND status = 'PENDING'`,
      [id, outcome.pointsReversed, outcome.pointsUnrecovered, outcome.transactionId],
    );
    return count > 0;
  }

  /** FAILED with the ledger's refusal, if still PENDING. */
  async failed(manager: EntityManager, id: string, refusal: Refusal): Promise<void> {
    await manager.query(`UPDATE returns SET status = 'FAILED', refusal = $2 WHERE id = $1 AND status = 'PENDING'`, [id, JSON.stringify(refusal)]);
  }

  /**
   * The order's awards, each with what earlier returns took off it, in a fixed order (campaign,
   * then rule): the input of `splitReversal`.
   */
  async awardShares(manager: EntityManager, activityId: string): Promise<(AwardShare & { periodKey: string | null })[]> {
    const rows = await manager.query<{ campaign_id: string; rule_id: string; points: number; cap_period_key: string | null; reversed: number }[]>(
      `SELECT a.campaign_id, a.rule_id, a.points, a.cap_period_key,
              COALESCE((SELECT sum(v.points) FROM return_reversals v JOIN returns r ON r.id = v.return_id
                        WHERE r.activity_id = a.activity_id AND v.rule_id = a.rule_id), 0)::int AS reversed
       FROM activity_awards a WHERE a.activity_id = $1 ORDER BY a.campaign_id, a.rule_id`,
      [activityId],
    );
    return rows.map((r) => ({ campaignId: r.campaign_id, ruleId: r.rule_id, points: r.points, reversed: r.reversed, periodKey: r.cap_period_key }));
  }

  async insertReversals(manager: EntityManager, returnId: string, reversals: readonly Reversal[]): Promise<void> {
    await manager.query(
      `INSERT INTO return_reversals (return_id, campaign_id, rule_id, points)
       SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::int[])`,
      [returnId, reversals.map((r) => r.campaignId), reversals.map((r) => r.ruleId), reversals.map((r) => r.points)],
    );
  }
}
