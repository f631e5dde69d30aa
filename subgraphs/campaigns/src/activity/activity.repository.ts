import type { DataSource, EntityManager } from 'typeorm';

export type CreditStatus = 'NONE' | 'PENDING' | 'CREDITED' | 'FAILED';

/** A stored activity, as far as earning and its credit need it. */
export interface Activity {
  id: string;
  tenant: string;
  memberId: string;
  requestHash: string;
  pointsEarned: number;
  creditStatus: CreditStatus;
  transactionId: string | null;
  /** The credit's terms besides its points, as first sent (a retry sends the identical credit). */
  creditOrderId: string | null;
  creditPendingUntil: Date | null;
  /** Campaigns an exclusive campaign stopped from awarding it (stacking). */
  excludedCampaignIds: string[];
}

/** A PURCHASE activity, as a return of its order needs it. */
export interface Purchase extends Activity {
  orderId: string;
  /** The order total, minor units. */
  amount: number;
}

/** What one rule of one campaign awarded an activity; `periodKey` names the cap counter it filled, if any. */
export interface StoredAward {
  campaignId: string;
  ruleId: string;
  points: number;
  periodKey: string | null;
}

/** A claim on a member's cap of `cap` points for a rule in a period. */
export interface CapClaim {
  ruleId: string;
  periodKey: string;
  points: number;
  cap: number;
}

/** A move of a member's cap counter for a rule in a period. */
export interface CapMove {
  ruleId: string;
  periodKey: string;
  points: number;
}

/** A recorded activity as a simulation replays it. */
export interface HistoricActivity {
  id: string;
  memberId: string;
  type: string;
  amount: number | null;
  eventName: string | null;
  occurredAt: Date;
}

/** An activity to store, with the totals its reservation decided. */
export interface NewActivity {
  tenant: string;
  memberId: string;
  type: string;
  amount: number | null;
  currency: string | null;
  orderId: string | null;
  storeId: string | null;
  channel: string | null;
  eventName: string | null;
  occurredAt: Date;
  idempotencyKey: string;
  requestHash: string;
  pointsEarned: number;
  creditStatus: CreditStatus;
  creditOrderId: string | null;
  creditPendingUntil: Date | null;
  excludedCampaignIds: string[];
}

interface ActivityRow {
  id: string;
  tenant: string;
  member_id: string;
  request_hash: string;
  points_earned: number;
  credit_status: CreditStatus;
  transaction_id: string | null;
  credit_order_id: string | null;
  credit_pending_until: Date | null;
  excluded_campaign_ids: string[];
}

interface PurchaseRow extends ActivityRow {
  order_id: string;
  amount: number;
}

interface AwardRow {
  campaign_id: string;
  rule_id: string;
  points: number;
  cap_period_key: string | null;
}

const toActivity = (row: ActivityRow): Activity => ({
  id: row.id,
  tenant: row.tenant,
  memberId: row.member_id,
  requestHash: row.request_hash,
  pointsEarned: row.points_earned,
  creditStatus: row.credit_status,
  transactionId: row.transaction_id,
  creditOrderId: row.credit_order_id,
  creditPendingUntil: row.credit_pending_until,
  excludedCampaignIds: row.excluded_campaign_ids,
});

const toPurchase = (row: PurchaseRow): Purchase => ({ ...toActivity(row), orderId: row.order_id, amount: row.amount });

const toAward = (row: AwardRow): StoredAward => ({ campaignId: row.campaign_id, ruleId: row.rule_id, points: row.points, periodKey: row.cap_period_key });

const ACTIVITY_COLUMNS = 'id, tenant, member_id, request_hash, points_earned, credit_status, transaction_id, credit_order_id, credit_pending_until, excluded_campaign_ids';

/**
 * Activities, their awards and the per-member cap counters. Writes take the caller's manager: the
 * service decides what shares a transaction (and so which locks are held together).
 */
export class ActivityRepository {
  constructor(private readonly db: DataSource) {}

  async byKey(tenant: string, idempotencyKey: string): Promise<Activity | null> {
    const [row] = await this.db.query<ActivityRow[]>(`SELECT ${ACTIVITY_COLUMNS} FROM activities WHERE tenant = $1 AND idempotency_key = $2`, [
      tenant,
      idempotencyKey,
    ]);
    return row ? toActivity(row) : null;
  }

  /** The member's PURCHASE of an order in the tenant, or null (another member's order is no order of this member). */
  async purchase(tenant: string, memberId: string, orderId: string): Promise<Purchase | null> {
    return this.findPurchase(this.db.manager, tenant, memberId, orderId, false);
  }

  /** The same, row-locked until the transaction ends: returns of one order are decided one at a time. */
  lockPurchase(manager: EntityManager, tenant: string, memberId: string, orderId: string): Promise<Purchase | null> {
    return this.findPurchase(manager, tenant, memberId, orderId, true);
  }

  private async findPurchase(manager: EntityManager, tenant: string, memberId: string, orderId: string, lock: boolean): Promise<Purchase | null> {
    const [row] = await manager.query<PurchaseRow[]>(
      `SELECT ${ACTIVITY_COLUMNS}, order_id, amount FROM activities
       WHERE tenant = $1 AND type = 'PURCHASE' AND order_id = $2 AND member_id = $3${lock ? ' FOR UPDATE' : ''}`,
      [tenant, orderId, memberId],
    );
    return row ? toPurchase(row) : null;
  }

  /** Activities PENDING (a crash, members unreachable) for over `olderThanMs`, oldest first. */
  async pending(olderThanMs: number, limit: number): Promise<Activity[]> {
    const rows = await this.db.query<ActivityRow[]>(
      `SELECT ${ACTIVITY_COLUMNS} FROM activities WHERE credit_status = 'PENDING' AND created_at < now() - make_interval(secs => $1)
       ORDER BY created_at LIMIT $2`,
      [olderThanMs / 1000, limit],
    );
    return rows.map(toActivity);
  }

  /** Stores the activity; null when one with its idempotency key is stored already (nothing written). */
  async insert(manager: EntityManager, id: string, activity: NewActivity): Promise<string | null> {
    const [row] = await manager.query<{ id: string }[]>(
      `INSERT INTO activities (tenant, member_id, type, amount, currency, order_id, store_id, channel, event_name,
         occurred_at, idempotency_key, request_hash, points_earned, credit_status, credit_order_id, credit_pending_until, id, excluded_campaign_ids)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
       ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
      [activity.tenant, activity.memberId, activity.type, activity.amount, activity.currency, activity.orderId, activity.storeId, activity.channel,
        activity.eventName, activity.occurredAt, activity.idempotencyKey, activity.requestHash, activity.pointsEarned, activity.creditStatus,
        activity.creditOrderId, activity.creditPendingUntil, id, activity.excludedCampaignIds],
    );
    return row?.id ?? null;
  }

  async insertAwards(manager: EntityManager, activityId: string, awards: readonly StoredAward[]): Promise<void> {
    await manager.query(
      `INSERT INTO activity_awards (activity_id, campaign_id, rule_id, points, cap_period_key)
       SELECT $1, * FROM unnest($2::uuid[], $3::uuid[], $4::int[], $5::text[])`,
      [activityId, awards.map((a) => a.campaignId), awards.map((a) => a.ruleId), awards.map((a) => a.points), awards.map((a) => a.periodKey)],
    );
  }

  async awards(manager: EntityManager, activityId: string): Promise<StoredAward[]> {
    const rows = await manager.query<AwardRow[]>('SELECT campaign_id, rule_id, points, cap_period_key FROM activity_awards WHERE activity_id = $1', [
      activityId,
    ]);
    return rows.map(toAward);
  }

  /**
   * Reserves, in one statement, up to `points` on each of a member's caps of `cap` points for a rule
   * in a period (a counter row is created if new): each clipped to what its cap has left, never
   * past it. The rows are taken in rule id order (the order every writer of them takes) and stay
   * locked until the caller's transaction ends. Resolves to what each claim was granted, in order.
   */
  async claimCaps(manager: EntityManager, memberId: string, claims: readonly CapClaim[]): Promise<number[]> {
    if (claims.length === 0) return [];
    const rows = await manager.query<{ rule_id: string; period_key: string; granted: number }[]>(
      `WITH c AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::bigint[], $5::int[]) AS c(rule_id, period_key, points, cap))
       INSERT INTO member_caps AS m (rule_id, member_id, period_key, points, last_granted)
       SELECT rule_id, $1, period_key, LEAST(points, cap), LEAST(points, cap) FROM c ORDER BY rule_id, period_key
       ON CONFLICT (rule_id, member_id, period_key) DO UPDATE
         SET (points, last_granted) = (SELECT m.points + LEAST(c.points, c.cap - m.points), LEAST(c.points, c.cap - m.points)
                                       FROM c WHERE c.rule_id = m.rule_id AND c.period_key = m.period_key)
         WHERE m.points < (SELECT c.cap FROM c WHERE c.rule_id = m.rule_id AND c.period_key = m.period_key)
       RETURNING rule_id, period_key, last_granted AS granted`,
      [memberId, claims.map((c) => c.ruleId), claims.map((c) => c.periodKey), claims.map((c) => c.points), claims.map((c) => c.cap)],
    );
    const granted = new Map(rows.map((row) => [`${row.rule_id}|${row.period_key}`, row.granted]));
    return claims.map((c) => granted.get(`${c.ruleId}|${c.periodKey}`) ?? 0);
  }

  /** Moves a member's cap counters by `points` each (negative to give points back), in one statement, rows taken in rule id order. */
  async addToCaps(manager: EntityManager, memberId: string, moves: readonly CapMove[]): Promise<void> {
    if (moves.length === 0) return;
    await manager.query(
      `WITH d AS (SELECT * FROM unnest($2::uuid[], $3::text[], $4::int[]) AS d(rule_id, period_key, points)),
       locked AS (SELECT m.rule_id, m.period_key FROM member_caps m JOIN d USING (rule_id, period_key) WHERE m.member_id = $1
                  ORDER BY m.rule_id, m.period_key FOR UPDATE OF m)
       UPDATE member_caps m SET points = m.points + d.points FROM d JOIN locked USING (rule_id, period_key)
       WHERE m.member_id = $1 AND m.rule_id = d.rule_id AND m.period_key = d.period_key`,
      [memberId, moves.map((m) => m.ruleId), moves.map((m) => m.periodKey), moves.map((m) => m.points)],
    );
  }

  /** What a member's cap counters hold now, per claim in order (0 before a counter's first claim). */
  async capsUsed(memberId: string, claims: readonly CapClaim[]): Promise<number[]> {
    if (claims.length === 0) return [];
    const rows = await this.db.query<{ rule_id: string; period_key: string; points: number }[]>(
      `SELECT m.rule_id, m.period_key, m.points FROM member_caps m JOIN unnest($2::uuid[], $3::text[]) AS c(rule_id, period_key) USING (rule_id, period_key)
       WHERE m.member_id = $1`,
      [memberId, claims.map((c) => c.ruleId), claims.map((c) => c.periodKey)],
    );
    const used = new Map(rows.map((row) => [`${row.rule_id}|${row.period_key}`, row.points]));
    return claims.map((c) => used.get(`${c.ruleId}|${c.periodKey}`) ?? 0);
  }

  /** Whether the tenant has a PURCHASE of this order recorded (the unique index recordActivity would hit). */
  async orderRecorded(tenant: string, orderId: string): Promise<boolean> {
    const rows = await this.db.query<unknown[]>(`SELECT 1 FROM activities WHERE tenant = $1 AND type = 'PURCHASE' AND order_id = $2`, [tenant, orderId]);
    return rows.length > 0;
  }

  /**
   * A page of the tenant's activities of `types` from `from` to `to` (both inclusive), in time order, after a (time, id)
   * cursor: what a simulation replays.
   */
  async history(tenant: string, types: readonly string[], from: Date, to: Date, limit: number, after?: { at: Date; id: string }): Promise<HistoricActivity[]> {
    const rows = await this.db.query<{ id: string; member_id: string; type: string; amount: number | null; event_name: string | null; occurred_at: Date }[]>(
      `SELECT id, member_id, type, amount, event_name, occurred_at FROM activities
       WHERE tenant = $1 AND type = ANY($2) AND occurred_at >= $3 AND occurred_at <= $4
         AND ($5::timestamptz IS NULL OR (occurred_at, id) > ($5, $6::uuid))
       ORDER BY occurred_at, id LIMIT $7`,
      [tenant, types, from, to, after?.at ?? null, after?.id ?? null, limit],
    );
    return rows.map((row) => ({ id: row.id, memberId: row.member_id, type: row.type, amount: row.amount, eventName: row.event_name, occurredAt: row.occurred_at }));
  }

  /** CREDITED with the ledger's transaction, if still PENDING. */
  async credited(manager: EntityManager, activityId: string, transactionId: string): Promise<void> {
    await manager.query(`UPDATE activities SET credit_status = 'CREDITED', transaction_id = $2 WHERE id = $1 AND credit_status = 'PENDING'`, [
      activityId,
      transactionId,
    ]);
  }

  /** FAILED, if still PENDING: the member's id when this call did it, null otherwise. */
  async failed(manager: EntityManager, activityId: string): Promise<string | null> {
    const [rows] = await manager.query<[{ member_id: string }[], number]>(
      `UPDATE activities SET credit_status = 'FAILED' WHERE id = $1 AND credit_status = 'PENDING' RETURNING member_id`,
      [activityId],
    );
    return rows[0]?.member_id ?? null;
  }
}
