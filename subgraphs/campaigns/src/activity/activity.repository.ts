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
   * Reserves up to `points` on a member's cap of `cap` points for a rule in a period, in one
   * statement (the counter row is created if new): clipped to what the cap has left, never past it.
   * The row stays locked until the caller's transaction ends. Resolves to what was granted.
   */
  async claimCap(manager: EntityManager, ruleId: string, memberId: string, periodKey: string, points: number, cap: number): Promise<number> {
    const [row] = await manager.query<{ granted: number }[]>(
      `INSERT INTO member_caps AS m (rule_id, member_id, period_key, points, last_granted) VALUES ($1, $2, $3, LEAST($4::bigint, $5::int), LEAST($4::bigint, $5::int))
       ON CONFLICT (rule_id, member_id, period_key) DO UPDATE
         SET points = m.points + LEAST($4::bigint, $5::int - m.points), last_granted = LEAST($4::bigint, $5::int - m.points)
         WHERE m.points < $5::int
       RETURNING last_granted AS granted`,
      [ruleId, memberId, periodKey, points, cap],
    );
    return row?.granted ?? 0;
  }

  /** What a member's cap counter of a rule holds in a period now (0 before its first claim). */
  async capUsed(ruleId: string, memberId: string, periodKey: string): Promise<number> {
    const [row] = await this.db.query<{ points: number }[]>('SELECT points FROM member_caps WHERE rule_id = $1 AND member_id = $2 AND period_key = $3', [
      ruleId,
      memberId,
      periodKey,
    ]);
    return row?.points ?? 0;
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

  /** Moves a cap counter by `points` (negative to give points back). */
  async addToCap(manager: EntityManager, ruleId: string, memberId: string, periodKey: string, points: number): Promise<void> {
    await manager.query('UPDATE member_caps SET points = points + $4 WHERE rule_id = $1 AND member_id = $2 AND period_key = $3', [
      ruleId,
      memberId,
      periodKey,
      points,
    ]);
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
