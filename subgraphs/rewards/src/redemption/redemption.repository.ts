import type { DataSource, EntityManager } from 'typeorm';
import { findByIdsInKeyOrder, type MemberSnapshot } from '@loyalty/kit';
import { RewardEntity } from '../reward/reward.entity';
import { gatesSql } from '../reward/reward.eligibility';
import { HOLDING_STATUSES_SQL, RedemptionEntity, type RedemptionStatusValue } from './redemption.entity';

/** A redemption to reserve: PENDING, holding its points and (if the reward counts stock) a unit of stock. */
export interface NewRedemption {
  tenant: string;
  memberId: string;
  rewardId: string;
  pointsSpent: number;
  storeId: string | null;
  channel: string | null;
  idempotencyKey: string;
  requestHash: string;
  memberChecked: boolean;
}

/** A code as a till typed it: a generated code's stored form (null if it cannot be one), and a pool code's key. */
export interface TypedCode {
  generated: string | null;
  pooled: string;
}

/** The redemption of tenant $1 whose generated code is $2, or whose pool code's key is $3. */
const CODE_MATCH = `tenant = $1 AND (code = $2 OR id = (SELECT redemption_id FROM reward_codes WHERE tenant = $1 AND code_key = $3))`;

/** What an UPDATE hands back through TypeORM's PostgreSQL driver: the rows it returned, and how many it changed. */
type Updated = [unknown[], number];

/**
 * Redemptions: batched reads for member fields (one statement for any number of members), and the
 * steps of the redemption state machine. Writes take the caller's manager: the service decides what
 * shares a transaction (and so which locks are held together); every status change is conditional
 * on the status it leaves, and says whether it happened, so each happens once.
 */
export class RedemptionRepository {
  constructor(private readonly db: DataSource) {}

  byIds(tenant: string, ids: readonly string[]): Promise<(RedemptionEntity | null)[]> {
    return findByIdsInKeyOrder(this.db.getRepository(RedemptionEntity), tenant, ids);
  }

  find(tenant: string, id: string): Promise<RedemptionEntity | null> {
    return this.db.getRepository(RedemptionEntity).findOneBy({ tenant, id });
  }

  byKey(tenant: string, idempotencyKey: string): Promise<RedemptionEntity | null> {
    return this.db.getRepository(RedemptionEntity).findOneBy({ tenant, idempotencyKey });
  }

  /** The redemption as `manager` sees it now (after its own writes, inside a transaction). */
  get(manager: EntityManager, id: string): Promise<RedemptionEntity> {
    return manager.getRepository(RedemptionEntity).findOneByOrFail({ id });
  }

  /** Redemptions in `status` whose `column` is older than `olderThanMs`, oldest first. */
  stale(status: 'PENDING' | 'CANCELLING', column: 'created_at' | 'updated_at', olderThanMs: number, limit: number): Promise<RedemptionEntity[]> {
    return this.db
      .getRepository(RedemptionEntity)
      .createQueryBuilder('r')
      .where(`r.status = :status AND r.${column} < now() - make_interval(secs => :seconds)`, { status, seconds: olderThanMs / 1000 })
      .orderBy(`r.${column}`)
      .take(limit)
      .getMany();
  }

  /** The database's clock, exactly (as text: a JS Date would drop the microseconds). */
  async clock(): Promise<string> {
    const [row] = await this.db.query<{ now: string }[]>('SELECT clock_timestamp()::text AS now');
    return row!.now;
  }

  /** Serialises one member's redemptions until the transaction ends (across rewards and replicas). */
  async lockMember(manager: EntityManager, tenant: string, memberId: string): Promise<void> {
    await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`redeem:${tenant}:${memberId}`]);
  }

  /** The member's redemptions of the reward that count towards its per-member limit. */
  async taken(manager: EntityManager, memberId: string, rewardId: string): Promise<number> {
    const [row] = await manager.query<{ taken: number }[]>(
      `SELECT count(*)::int AS taken FROM redemptions WHERE member_id = $1 AND reward_id = $2 AND status IN ${HOLDING_STATUSES_SQL}`,
      [memberId, rewardId],
    );
    return row!.taken;
  }

  /**
   * Points of the member's redemptions that a snapshot read after `since` may not yet reflect:
   * every PENDING one, and every one settled since (it may have been debited after the read).
   */
  async heldPoints(manager: EntityManager, tenant: string, memberId: string, since: string): Promise<number> {
    const [row] = await manager.query<{ held: string }[]>(
      `SELECT coalesce(sum(points_spent), 0)::bigint AS held FROM redemptions
       WHERE tenant = $1 AND member_id = $2 AND (status = 'PENDING' OR (status <> 'FAILED' AND updated_at >= $3::timestamptz))`,
      [tenant, memberId, since],
    );
    return Number(row!.held);
  }

  /** Stores the redemption PENDING; null when one with its idempotency key is stored already (nothing written). */
  async insertPending(manager: EntityManager, redemption: NewRedemption): Promise<RedemptionEntity | null> {
    const [row] = await manager.query<{ id: string }[]>(
      `INSERT INTO redemptions (tenant, member_id, reward_id, points_spent, status, store_id, channel, idempotency_key, request_hash, member_checked)
       VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8, $9)
       ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
      [redemption.tenant, redemption.memberId, redemption.rewardId, redemption.pointsSpent, redemption.storeId, redemption.channel,
        redemption.idempotencyKey, redemption.requestHash, redemption.memberChecked],
    );
    return row ? this.get(manager, row.id) : null;
  }

  /** Records that the member gates passed, while still PENDING. */
  async memberChecked(manager: EntityManager, id: string): Promise<void> {
    await manager.query(`UPDATE redemptions SET member_checked = true, updated_at = now() WHERE id = $1 AND status = 'PENDING'`, [id]);
  }

  /** PENDING → COMPLETED with its code and the ledger's debit; true if this call did it. */
  async complete(manager: EntityManager, id: string, code: string, transactionId: string): Promise<boolean> {
    const [, changed] = await manager.query<Updated>(
      `UPDATE redemptions SET status = 'COMPLETED', code = $2, transaction_id = $3, updated_at = now(),
              code_expires_at = now() + make_interval(days => (SELECT code_valid_days FROM rewards WHERE rewards.id = redemptions.reward_id))
       WHERE id = $1 AND status = 'PENDING' RETURNING id`,
      [id, code, transactionId],
    );
    return changed > 0;
  }

  /** PENDING → FAILED with the refusal's code; true if this call did it. `onlyUnchecked`: only while the member gates are not recorded as passed. */
  async fail(manager: EntityManager, id: string, failureCode: string, onlyUnchecked: boolean): Promise<boolean> {
    const [, changed] = await manager.query<Updated>(
      `UPDATE redemptions SET status = 'FAILED', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'PENDING' ${onlyUnchecked ? 'AND NOT member_checked' : ''}`,
      [id, failureCode],
    );
    return changed > 0;
  }

  /**
   * The tenant's redemption with this code, if any: a generated code by the code's unique index, a
   * pool code through the pool's (one lookup each, hit or miss).
   */
  async byCode(tenant: string, code: TypedCode): Promise<RedemptionEntity | null> {
    const [row] = await this.db.query<{ id: string }[]>(`SELECT id FROM redemptions WHERE ${CODE_MATCH}`, [tenant, code.generated, code.pooled]);
    return row ? this.db.getRepository(RedemptionEntity).findOneBy({ id: row.id }) : null;
  }

  /** The pool code taken for the redemption at its reservation, if it has one. */
  async poolCode(manager: EntityManager, id: string): Promise<string | null> {
    const [row] = await manager.query<{ code: string }[]>('SELECT code FROM reward_codes WHERE redemption_id = $1', [id]);
    return row?.code ?? null;
  }

  /** Gives a FAILED redemption's pool code back to the pool: it was never handed out. */
  async releaseCode(manager: EntityManager, id: string): Promise<void> {
    await manager.query('UPDATE reward_codes SET redemption_id = NULL WHERE redemption_id = $1', [id]);
  }

  /** Marks a COMPLETED, unexpired, unused code fulfilled; its id if this call did it. */
  async fulfil(manager: EntityManager, tenant: string, code: TypedCode, storeId: string | null): Promise<string | null> {
    const [rows] = await manager.query<[{ id: string }[], number]>(
      `UPDATE redemptions SET fulfilled_at = now(), fulfilled_store_id = $4, updated_at = now()
       WHERE ${CODE_MATCH} AND status = 'COMPLETED' AND fulfilled_at IS NULL AND (code_expires_at IS NULL OR code_expires_at > now())
       RETURNING id`,
      [tenant, code.generated, code.pooled, storeId],
    );
    return rows[0]?.id ?? null;
  }

  /** COMPLETED → CANCELLING, with the reason; never once a till has fulfilled the code. */
  /** COMPLETED → CANCELLING with the reason; true if this call did it. */
  async startCancel(manager: EntityManager, id: string, reason: string | null): Promise<boolean> {
    const [, changed] = await manager.query<[unknown[], number]>(
      `UPDATE redemptions SET status = 'CANCELLING', cancel_reason = $2, updated_at = now() WHERE id = $1 AND status = 'COMPLETED' AND fulfilled_at IS NULL`,
      [id, reason],
    );
    return changed > 0;
  }

  /** CANCELLING → CANCELLED with the ledger's refund; true if this call did it. */
  async cancelled(manager: EntityManager, id: string, reversalTransactionId: string): Promise<boolean> {
    const [, changed] = await manager.query<Updated>(
      `UPDATE redemptions SET status = 'CANCELLED', reversal_transaction_id = $2, updated_at = now()
       WHERE id = $1 AND status = 'CANCELLING'`,
      [id, reversalTransactionId],
    );
    return changed > 0;
  }

  /** CANCELLING → COMPLETED again, the reason dropped: the refund was refused. */
  async stayCompleted(manager: EntityManager, id: string): Promise<void> {
    await manager.query(`UPDATE redemptions SET status = 'COMPLETED', cancel_reason = NULL, updated_at = now() WHERE id = $1 AND status = 'CANCELLING'`, [id]);
  }

  /** The newest `first + 1` redemptions in `statuses` of each member, before the (createdAt, id) cursor. */
  async latest(
    tenant: string,
    memberIds: readonly string[],
    statuses: readonly RedemptionStatusValue[],
    first: number,
    before?: [string, string],
  ): Promise<Map<string, RedemptionEntity[]>> {
    const ids = await this.db.query<{ id: string }[]>(
      `SELECT id FROM (
         SELECT id, row_number() OVER (PARTITION BY member_id ORDER BY created_at DESC, id DESC) AS n
         FROM redemptions
         WHERE tenant = $1 AND member_id = ANY($2) AND status = ANY($6)
           AND ($4::timestamptz IS NULL OR (created_at, id) < ($4::timestamptz, $5::uuid))
       ) ranked WHERE n <= $3`,
      [tenant, memberIds, first + 1, before?.[0] ?? null, before?.[1] ?? null, statuses],
    );
    const rows = ids.length
      ? await this.db
          .getRepository(RedemptionEntity)
          .createQueryBuilder('r')
          .where('r.id = ANY(:ids)', { ids: ids.map((r) => r.id) })
          .orderBy('r.created_at', 'DESC')
          .addOrderBy('r.id', 'DESC')
          .getMany()
      : [];
    const byMember = new Map<string, RedemptionEntity[]>();
    for (const row of rows) byMember.set(row.memberId, [...(byMember.get(row.memberId) ?? []), row]);
    return byMember;
  }

  async counts(tenant: string, memberIds: readonly string[], statuses: readonly RedemptionStatusValue[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ member_id: string; n: number }[]>(
      'SELECT member_id, count(*)::int AS n FROM redemptions WHERE tenant = $1 AND member_id = ANY($2) AND status = ANY($3) GROUP BY member_id',
      [tenant, memberIds, statuses],
    );
    return new Map(rows.map((row) => [row.member_id, row.n]));
  }

  /** What each member could redeem right now: every gate of reward.eligibility.ts, on the current balance. */
  async available(tenant: string, members: MemberSnapshot[]): Promise<Map<string, RewardEntity[]>> {
    if (members.length === 0) return new Map();
    const rows = await this.db.query<{ member_id: string; id: string }[]>(
      `WITH m0 AS (SELECT * FROM unnest($2::uuid[], $3::bool[], $4::int[], $5::int[], $6::jsonb[]) AS x(member_id, active, rank, balance, segments)),
       m AS (SELECT m0.*, ARRAY(SELECT jsonb_array_elements_text(m0.segments)::uuid) AS segment_ids FROM m0)
       SELECT m.member_id, r.id FROM m
       JOIN rewards r ON r.tenant = $1 AND ${gatesSql()}
       ORDER BY m.member_id, r.cost_points, r.id`,
      [
        tenant,
        members.map((m) => m.id),
        members.map((m) => m.status === 'ACTIVE'),
        members.map((m) => m.tier.rank),
        members.map((m) => m.balance),
        members.map((m) => JSON.stringify(m.segmentIds)),
      ],
    );
    const rewards = rows.length
      ? await this.db.getRepository(RewardEntity).createQueryBuilder('r').where('r.id = ANY(:ids)', { ids: [...new Set(rows.map((r) => r.id))] }).getMany()
      : [];
    const byId = new Map(rewards.map((reward) => [reward.id, reward]));
    const byMember = new Map<string, RewardEntity[]>();
    for (const row of rows) byMember.set(row.member_id, [...(byMember.get(row.member_id) ?? []), byId.get(row.id)!]);
    return byMember;
  }
}
