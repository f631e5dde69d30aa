import type { DataSource, EntityManager } from 'typeorm';
import {
  ConflictError,
  DomainError,
  IdempotencyConflictError,
  LedgerUnavailableError,
  NotFoundError,
  appendOutbox,
  parseId,
  recoverPending,
  requestFingerprint,
  requireMemberAccess,
  runLedgerStep,
  startRecoveryJob,
  uniqueViolation,
  type Identity,
  type LedgerClient,
  type Logger,
  type MemberSnapshot,
  type OutgoingEvent,
} from '@loyalty/kit';
import { access } from '../access';
import { refusal, type RewardTerms } from '../reward/reward.eligibility';
import { HOLDING_STATUSES_SQL, RedemptionEntity } from './redemption.entity';
import { redemptionCode } from './redemption.code';
import type { RedeemRewardInput } from './redemption.inputs';
import { toRedemption, type Redemption } from './redemption.type';

/** Thrown inside the reservation transaction when a concurrent twin stored the key first. */
class KeyTaken extends Error {}

interface RewardRow {
  id: string;
  cost_points: number;
  stock: number | null;
  min_tier_rank: number | null;
  limit_per_member: number | null;
  valid_from: Date | null;
  valid_until: Date | null;
  active: boolean;
}

const terms = (row: RewardRow): RewardTerms => ({
  active: row.active,
  validFrom: row.valid_from,
  validUntil: row.valid_until,
  stock: row.stock,
  minTierRank: row.min_tier_rank,
  limitPerMember: row.limit_per_member,
  costPoints: row.cost_points,
});

const debitKey = (redemptionId: string) => `redemption:${redemptionId}`;
const reversalKey = (redemptionId: string) => `redemption-cancel:${redemptionId}`;

/** Codes a FAILED redemption is replayed with, and the input field each names. */
const failureField = (code: string) => (code === 'NOT_ELIGIBLE' || code === 'NOT_FOUND' ? 'memberId' : 'rewardId');

/**
 * Redemption (docs/architecture.md, moving points across subgraphs): reserve (a PENDING redemption and one unit of stock, in
 * one transaction, after every check), then debit the ledger with a key derived from the
 * redemption, then settle: COMPLETED with a code, or FAILED with the stock given back. If the
 * ledger cannot be reached the redemption stays PENDING and `settlePending` (the recovery job, or a
 * retry with the same idempotency key) finishes it: the debit is idempotent, so asking again tells
 * whether it happened, and every settlement is a conditional update, so it happens once. Both
 * ledger steps (the debit, and a cancellation's refund) run through the kit's saga (saga.ts).
 *
 * When not even the member can be read, the reservation is made without the member gates
 * (`member_checked` false) and settlement runs them before it ever asks for the debit; the debit
 * itself is the balance check. Cancellation is the same kind of state machine: CANCELLING first,
 * then the idempotent refund, then CANCELLED with the stock back, each step repeatable.
 */
export class RedemptionService {
  constructor(
    private readonly db: DataSource,
    private readonly ledger: LedgerClient,
    private readonly log: Logger,
  ) {}

  async redeem(identity: Identity, input: RedeemRewardInput): Promise<Redemption> {
    const memberId = parseId(input.memberId, 'memberId');
    const rewardId = parseId(input.rewardId, 'rewardId');
    requireMemberAccess(identity, memberId, access['Mutation.redeemReward']);
    const { tenant } = identity;
    const hash = requestFingerprint([memberId, rewardId, input.storeId ?? null, input.channel ?? null]);

    const existing = await this.byKey(tenant, input.idempotencyKey);
    if (existing) return this.replay(existing, hash);

    // Taken before the snapshot is read: what this member's redemptions did since may not be in it.
    const since = await this.clock();
    const member = await this.snapshot(tenant, memberId);
    if (member === null) throw new NotFoundError('Member', 'memberId');
    // Only the gates that need nothing but the member can be decided yet.
    const early = member ? refusal({ member }) : null;
    if (early) throw early;

    let reserved: RedemptionEntity;
    try {
      reserved = await this.db.transaction(async (manager) => {
        // One member's redemptions are serialised (across rewards and replicas), so the points its
        // unfinished ones hold are known; then the reward row lock serialises redemptions of one
        // reward: stock and per-member limits are checked and taken atomically. Always in this order.
        await manager.query('SELECT pg_advisory_xact_lock(hashtextextended($1, 0))', [`redeem:${tenant}:${memberId}`]);
        const [reward] = (await manager.query('SELECT * FROM rewards WHERE tenant = $1 AND id = $2 FOR UPDATE', [tenant, rewardId])) as RewardRow[];
        if (!reward) throw new NotFoundError('Reward', 'rewardId');
        // Unknown facts (the member, while members is unreachable) leave their gates to settlement.
        // Unfinished redemptions hold their points: without `held`, attempts the balance cannot
        // cover would each take a unit of stock until their debit fails.
        const refused = refusal({
          reward: terms(reward),
          member,
          taken: reward.limit_per_member === null ? undefined : await this.taken(manager, memberId, rewardId),
          held: member ? await this.heldPoints(manager, tenant, memberId, since) : undefined,
        });
        if (refused) throw refused;
        if (reward.stock !== null) await manager.query('UPDATE rewards SET stock = stock - 1, updated_at = now() WHERE id = $1', [rewardId]);
        const [row] = (await manager.query(
          `INSERT INTO redemptions (tenant, member_id, reward_id, points_spent, status, store_id, channel, idempotency_key, request_hash, member_checked)
           VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8, $9)
           ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
          [tenant, memberId, rewardId, reward.cost_points, input.storeId ?? null, input.channel ?? null, input.idempotencyKey, hash, member !== undefined],
        )) as { id: string }[];
        if (!row) throw new KeyTaken(); // rolls back the stock taken above
        return manager.getRepository(RedemptionEntity).findOneByOrFail({ id: row.id });
      });
    } catch (error) {
      if (!(error instanceof KeyTaken)) throw error;
      return this.replay((await this.byKey(tenant, input.idempotencyKey))!, hash);
    }
    return toRedemption(await this.settle(reserved));
  }

  /** The member's snapshot; null when members does not know it; undefined when members cannot be reached. */
  private async snapshot(tenant: string, memberId: string): Promise<MemberSnapshot | null | undefined> {
    try {
      const [member] = await this.ledger.members(tenant, [memberId]);
      return member ?? null;
    } catch (error) {
      if (!(error instanceof LedgerUnavailableError)) throw error;
      this.log.warn({ err: error, memberId }, 'members unreachable; member gates left to settlement');
      return undefined;
    }
  }

  /** The member's redemptions of the reward that count towards its per-member limit. */
  private async taken(manager: EntityManager, memberId: string, rewardId: string): Promise<number> {
    const [{ taken }] = (await manager.query(
      `SELECT count(*)::int AS taken FROM redemptions WHERE member_id = $1 AND reward_id = $2 AND status IN ${HOLDING_STATUSES_SQL}`,
      [memberId, rewardId],
    )) as [{ taken: number }];
    return taken;
  }

  /**
   * Points of the member's redemptions that a snapshot read after `since` may not yet reflect:
   * every PENDING one, and every one settled since (it may have been debited after the read).
   */
  private async heldPoints(manager: EntityManager, tenant: string, memberId: string, since: string): Promise<number> {
    const [{ held }] = (await manager.query(
      `SELECT coalesce(sum(points_spent), 0)::bigint AS held FROM redemptions
       WHERE tenant = $1 AND member_id = $2 AND (status = 'PENDING' OR (status <> 'FAILED' AND updated_at >= $3::timestamptz))`,
      [tenant, memberId, since],
    )) as [{ held: string }];
    return Number(held);
  }

  /** The database's clock, exactly (as text: a JS Date would drop the microseconds). */
  private async clock(): Promise<string> {
    const [{ now }] = (await this.db.query('SELECT clock_timestamp()::text AS now')) as [{ now: string }];
    return now;
  }

  /** The same key again: the first result (finishing it if still PENDING), or IDEMPOTENCY_CONFLICT. */
  private async replay(existing: RedemptionEntity, hash: string): Promise<Redemption> {
    if (existing.requestHash !== hash) throw new IdempotencyConflictError();
    const settled = existing.status === 'PENDING' ? await this.settle(existing) : existing;
    if (settled.status === 'FAILED') {
      const code = settled.failureCode ?? 'INSUFFICIENT_POINTS';
      throw new DomainError(code as never, 'This redemption failed', failureField(code));
    }
    return toRedemption(settled);
  }

  /**
   * Runs the member gates if they are still owed, asks the ledger to debit (idempotently) and records
   * the outcome. A gate or a ledger rule failing (e.g. INSUFFICIENT_POINTS) fails the redemption and
   * gives the stock back, and is rethrown; an unreachable ledger leaves it PENDING for the recovery job.
   */
  private async settle(redemption: RedemptionEntity): Promise<RedemptionEntity> {
    if (!redemption.memberChecked) {
      const checked = await this.checkMember(redemption);
      if (checked.status !== 'PENDING' || !checked.memberChecked) return checked;
      redemption = checked;
    }
    return runLedgerStep({
      call: () => this.ledger.debit(this.move(redemption, 'REDEEM', debitKey(redemption.id), 'Reward redemption')),
      settle: (transactionId) => this.complete(redemption, transactionId),
      compensate: async (refusal) => {
        await this.fail(redemption, refusal.code);
      },
      leavePending: () => redemption,
      pendingMessage: 'ledger unreachable; redemption left PENDING for recovery',
      context: { redemptionId: redemption.id },
      log: this.log,
    });
  }

  /**
   * The member gates of a redemption reserved without them. Passing is recorded before any debit is
   * asked for, and failing only while it is not recorded: once a debit may exist, no later look at
   * the member (suspended since, say) can fail the redemption and strand the points.
   */
  private async checkMember(redemption: RedemptionEntity): Promise<RedemptionEntity> {
    const member = await this.snapshot(redemption.tenant, redemption.memberId);
    if (member === undefined) return redemption;
    const [reward] = (await this.db.query('SELECT * FROM rewards WHERE id = $1', [redemption.rewardId])) as RewardRow[];
    // Only the member's gates: the reward's own terms were checked when it was reserved.
    const refused = member ? refusal({ member, reward: reward && terms(reward) }, ['member']) : new NotFoundError('Member', 'memberId');
    if (refused) {
      if (await this.fail(redemption, refused.code, 'AND NOT member_checked')) throw refused;
    } else {
      await this.db.query(`UPDATE redemptions SET member_checked = true, updated_at = now() WHERE id = $1 AND status = 'PENDING'`, [redemption.id]);
    }
    const current = await this.db.getRepository(RedemptionEntity).findOneByOrFail({ id: redemption.id });
    if (current.status === 'FAILED') {
      const code = current.failureCode ?? 'NOT_ELIGIBLE';
      throw new DomainError(code as never, 'This redemption failed', failureField(code));
    }
    return current;
  }

  private async complete(redemption: RedemptionEntity, transactionId: string): Promise<RedemptionEntity> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.db.transaction(async (manager) => {
          const updated = (await manager.query(
            `UPDATE redemptions SET status = 'COMPLETED', code = $2, transaction_id = $3, updated_at = now()
             WHERE id = $1 AND status = 'PENDING' RETURNING id`,
            [redemption.id, redemptionCode(), transactionId],
          )) as [unknown[], number];
          if (updated[1] > 0) {
            await appendOutbox(manager, [this.event('REDEMPTION_COMPLETED', redemption)]);
          }
          return manager.getRepository(RedemptionEntity).findOneByOrFail({ id: redemption.id });
        });
      } catch (error) {
        // A code collision (≈59 bits: practically never): draw another.
        if (uniqueViolation(error) === 'redemptions_code_key' && attempt < 5) continue;
        throw error;
      }
    }
  }

  /** FAILED with the stock back, once; true if this call did it. `condition` narrows when it may. */
  private async fail(redemption: RedemptionEntity, code: string, condition = ''): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const updated = (await manager.query(
        `UPDATE redemptions SET status = 'FAILED', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'PENDING' ${condition}`,
        [redemption.id, code],
      )) as [unknown[], number];
      if (updated[1] > 0) await this.restock(manager, redemption.rewardId);
      return updated[1] > 0;
    });
  }

  private async restock(manager: EntityManager, rewardId: string): Promise<void> {
    await manager.query('UPDATE rewards SET stock = stock + 1, updated_at = now() WHERE id = $1 AND stock IS NOT NULL', [rewardId]);
  }

  /**
   * Refunds (a REVERSAL credit) and restocks a COMPLETED redemption. CANCELLING is recorded first,
   * with the reason, so a refund whose answer is lost, or a crash after it, leaves a row that a
   * replay or the recovery job finishes with the same idempotency key. While members cannot confirm
   * the refund, the redemption is returned as it stands (still COMPLETED); cancelling again is a no-op.
   */
  async cancel(identity: Identity, id: string, reason?: string | null): Promise<Redemption> {
    const redemptionId = parseId(id, 'id');
    const repository = this.db.getRepository(RedemptionEntity);
    let redemption = await repository.findOneBy({ tenant: identity.tenant, id: redemptionId });
    if (!redemption) throw new NotFoundError('Redemption');
    if (redemption.status === 'COMPLETED') {
      await this.db.query(
        `UPDATE redemptions SET status = 'CANCELLING', cancel_reason = $2, updated_at = now() WHERE id = $1 AND status = 'COMPLETED'`,
        [redemption.id, reason?.slice(0, 500) ?? null],
      );
      redemption = await repository.findOneByOrFail({ id: redemption.id });
    }
    if (redemption.status === 'CANCELLING') redemption = await this.finishCancel(redemption);
    if (redemption.status === 'CANCELLED' || redemption.status === 'CANCELLING') return toRedemption(redemption);
    throw new ConflictError('id', `A ${redemption.status} redemption cannot be cancelled`);
  }

  /** Asks for the refund (idempotently) and, once members confirms it, records CANCELLED and restocks, once. */
  private finishCancel(redemption: RedemptionEntity): Promise<RedemptionEntity> {
    return runLedgerStep({
      call: () => this.ledger.credit(this.move(redemption, 'REVERSAL', reversalKey(redemption.id), 'Redemption cancelled')),
      settle: (reversalId) =>
        this.db.transaction(async (manager) => {
          const updated = (await manager.query(
            `UPDATE redemptions SET status = 'CANCELLED', reversal_transaction_id = $2, updated_at = now()
             WHERE id = $1 AND status = 'CANCELLING'`,
            [redemption.id, reversalId],
          )) as [unknown[], number];
          if (updated[1] > 0) {
            await this.restock(manager, redemption.rewardId);
            await appendOutbox(manager, [this.event('REDEMPTION_CANCELLED', redemption)]);
          }
          return manager.getRepository(RedemptionEntity).findOneByOrFail({ id: redemption.id });
        }),
      compensate: async () => {
        // A rule refused the refund, so nothing was credited (a made refund is replayed, never
        // refused): the redemption stands as COMPLETED.
        await this.db.query(`UPDATE redemptions SET status = 'COMPLETED', cancel_reason = NULL, updated_at = now() WHERE id = $1 AND status = 'CANCELLING'`, [redemption.id]);
      },
      leavePending: () => redemption,
      pendingMessage: 'ledger unreachable; cancellation left CANCELLING for recovery',
      context: { redemptionId: redemption.id },
      log: this.log,
    });
  }

  /** The ledger move of a redemption (its debit, or the refund of it), keyed by `idempotencyKey`. */
  private move<T extends string>(redemption: RedemptionEntity, type: T, idempotencyKey: string, reason: string) {
    return { tenant: redemption.tenant, memberId: redemption.memberId, points: redemption.pointsSpent, type, idempotencyKey, reference: redemption.id, reason };
  }

  /**
   * Recovery: settles redemptions left PENDING, and finishes cancellations left CANCELLING (by a
   * crash or an unreachable ledger), untouched for over `olderThanMs`. Returns how many it finished.
   */
  async settlePending(olderThanMs: number, limit = 50): Promise<number> {
    const stale = (status: string, column: string) =>
      this.db
        .getRepository(RedemptionEntity)
        .createQueryBuilder('r')
        .where(`r.status = :status AND r.${column} < now() - make_interval(secs => :seconds)`, { status, seconds: olderThanMs / 1000 })
        .orderBy(`r.${column}`)
        .take(limit)
        .getMany();
    // A refused debit failed and restocked the redemption: finished too.
    const settled = await recoverPending(await stale('PENDING', 'created_at'), async (r) => (await this.settle(r)).status !== 'PENDING');
    const cancelled = await recoverPending(
      await stale('CANCELLING', 'updated_at'),
      async (r) => (await this.finishCancel(r)).status !== 'CANCELLING',
      (r, refusal) => this.log.warn({ err: refusal, redemptionId: r.id }, 'the ledger refused a cancellation’s refund; the redemption stays COMPLETED'),
    );
    return settled + cancelled;
  }

  private async byKey(tenant: string, key: string): Promise<RedemptionEntity | null> {
    return this.db.getRepository(RedemptionEntity).findOneBy({ tenant, idempotencyKey: key });
  }

  private event(type: 'REDEMPTION_COMPLETED' | 'REDEMPTION_CANCELLED', redemption: RedemptionEntity): OutgoingEvent {
    return {
      type,
      tenant: redemption.tenant,
      key: redemption.memberId,
      payload: {
        redemptionId: redemption.id,
        memberId: redemption.memberId,
        rewardId: redemption.rewardId,
        pointsSpent: redemption.pointsSpent,
        storeId: redemption.storeId,
        channel: redemption.channel,
      },
    };
  }
}

/** The recovery job: every `intervalMs`, settles redemptions PENDING (or CANCELLING) for over `olderThanMs`. */
export function startRecovery(service: RedemptionService, log: Logger, intervalMs = 5000, olderThanMs = 10_000): () => Promise<void> {
  return startRecoveryJob(
    {
      name: 'redemption recovery',
      intervalMs,
      run: () => service.settlePending(olderThanMs),
      message: 'recovered pending redemptions and cancellations',
      countedAs: 'settled',
    },
    log,
  );
}
