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
  requireWritableMember,
  requireMemberAccess,
  runLedgerStep,
  startRecoveryJob,
  uniqueViolation,
  type AuditLog,
  type Identity,
  type LedgerClient,
  type Logger,
  type MemberSnapshot,
  type OutgoingEvent,
} from '@loyalty/kit';
import { access } from '../access';
import { kindsAround, refusal, type RewardTerms } from '../reward/reward.eligibility';
import { OutOfStockError } from './redemption.errors';
import type { RewardRepository } from '../reward/reward.repository';
import type { RedemptionEntity } from './redemption.entity';
import { normalizeCode, redemptionCode } from './redemption.code';
import { MAX_CODE_LENGTH, poolCodeKey } from '../reward/reward.codes';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { RedeemRewardInput } from './redemption.inputs';
import type { RedemptionRepository, TypedCode } from './redemption.repository';
import { toRedemption, type Redemption } from './redemption.type';

/** Thrown inside the reservation transaction when a concurrent twin stored the key first. */
class KeyTaken extends Error {}
/**
 * A balance refusal that may be ours alone: the snapshot covered the cost, but redemptions settled
 * since `since` were counted as held, and the snapshot (read after `since`) may already reflect
 * them. Asked again with a fresh clock and snapshot, up to HELD_ATTEMPTS times in all.
 */
class HeldMayBeCounted extends Error {}
const HELD_ATTEMPTS = 3;

const debitKey = (redemptionId: string) => `redemption:${redemptionId}`;
const reversalKey = (redemptionId: string) => `redemption-cancel:${redemptionId}`;

/** Codes a FAILED redemption is replayed with, and the input field each names. */
/** Unknown redemption codes a caller may try per minute before RATE_LIMITED. */
export const CODE_MISSES_PER_MINUTE = 20;

/** What a till typed, as looked up: null when it can be neither a generated nor a pool code (nothing is looked up). */
function codeOf(input: string): TypedCode | null {
  const generated = normalizeCode(input);
  const pooled = poolCodeKey(input.trim());
  return generated || (pooled && pooled.length <= MAX_CODE_LENGTH) ? { generated, pooled } : null;
}

const failureField = (code: string) => (code === 'NOT_ELIGIBLE' || code === 'NOT_FOUND' ? 'memberId' : 'rewardId');

/**
 * Redemption (docs/architecture.md, moving points across subgraphs): reserve (a PENDING redemption and one unit of stock, in
 * one short transaction, after every check; the stock by one conditional statement, never a row
 * lock held while anything else is decided), then debit the ledger with a key derived from the
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
    private readonly redemptions: RedemptionRepository,
    private readonly rewards: RewardRepository,
    private readonly ledger: LedgerClient,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {}

  /** Unknown codes per caller and minute (in memory, per replica). */
  private readonly codeMisses = new RateLimiterMemory({ points: CODE_MISSES_PER_MINUTE, duration: 60 });

  /**
   * The redemption a code belongs to, or null (unknown, malformed, another tenant's). Misses are
   * counted per caller: past CODE_MISSES_PER_MINUTE a caller gets RATE_LIMITED, so codes cannot be
   * guessed by trying them (at ≈59 bits a guess succeeds once in 10^17 anyway).
   */
  async byCode(identity: Identity, input: string): Promise<Redemption | null> {
    const entity = await this.lookUp(identity, codeOf(input));
    return entity ? toRedemption(entity) : null;
  }

  /**
   * A till takes a code: a COMPLETED redemption's code is marked fulfilled, once. The same code
   * again is CONFLICT, an unknown one (or another tenant's) NOT_FOUND, one past its codeExpiresAt
   * REWARD_UNAVAILABLE, a cancelled one CONFLICT. A fulfilled redemption can no longer be cancelled.
   */
  async fulfil(identity: Identity, input: string, storeId: string | null): Promise<Redemption> {
    const code = codeOf(input);
    // The take and its event commit together: a crash between them can lose neither.
    const fulfilled = !code
      ? null
      : await this.db.transaction(async (manager) => {
          const id = await this.redemptions.fulfil(manager, identity.tenant, code, storeId?.slice(0, 200) ?? null);
          if (!id) return null;
          const taken = await this.redemptions.get(manager, id);
          await appendOutbox(manager, [this.event('REDEMPTION_FULFILLED', taken)]);
          await this.audit.record(manager, identity, {
            action: 'fulfilRedemption',
            targetType: 'Redemption',
            targetId: id,
            memberId: taken.memberId,
            before: { fulfilledAt: null },
            after: { fulfilledAt: new Date(taken.fulfilledAt!).toISOString(), storeId: taken.fulfilledStoreId },
          });
          return taken;
        });
    if (fulfilled) return toRedemption(fulfilled);
    // Not taken: say why.
    const entity = await this.lookUp(identity, code);
    if (!entity) throw new NotFoundError('Redemption code', 'code');
    if (entity.fulfilledAt) throw new ConflictError('code', `This code was already used on ${new Date(entity.fulfilledAt).toISOString()}`);
    if (entity.status !== 'COMPLETED') throw new ConflictError('code', 'This redemption was cancelled');
    throw new DomainError('REWARD_UNAVAILABLE', `This code expired on ${new Date(entity.codeExpiresAt!).toISOString()}`, 'code');
  }

  /** The redemption of a normalized code (null: malformed), counting a miss against the caller. */
  private async lookUp(identity: Identity, code: TypedCode | null): Promise<RedemptionEntity | null> {
    const entity = code ? await this.redemptions.byCode(identity.tenant, code) : null;
    if (!entity) {
      try {
        await this.codeMisses.consume(`${identity.tenant}:${identity.principal}`);
      } catch (rejection) {
        if (!(rejection instanceof RateLimiterRes)) throw rejection;
        throw new DomainError('RATE_LIMITED', `Too many unknown codes; retry in ${Math.ceil(rejection.msBeforeNext / 1000)} s`, 'code');
      }
    }
    return entity;
  }

  async redeem(identity: Identity, input: RedeemRewardInput): Promise<Redemption> {
    const memberId = parseId(input.memberId, 'memberId');
    const rewardId = parseId(input.rewardId, 'rewardId');
    requireMemberAccess(identity, memberId, access['Mutation.redeemReward']);
    const { tenant } = identity;
    const hash = requestFingerprint([memberId, rewardId, input.storeId ?? null, input.channel ?? null]);

    const existing = await this.redemptions.byKey(tenant, input.idempotencyKey);
    if (existing) return this.replay(existing, hash);

    for (let attempt = 1; ; attempt++) {
      // Taken before the snapshot is read: what this member's redemptions did since may not be in it.
      const since = await this.redemptions.clock();
      const member = await this.snapshot(tenant, memberId);
      if (member === null) throw new NotFoundError('Member', 'memberId');
      if (member?.status === 'ERASED') throw new NotFoundError('Member', 'memberId', 'The member was erased');
      // Only the gates that need nothing but the member can be decided yet.
      const early = member ? refusal({ member }) : null;
      if (early) throw early;

      // Read without a lock: the stock is taken by one conditional statement, the last before commit.
      const reward = await this.rewards.termsOf(tenant, rewardId);
      if (!reward) throw new NotFoundError('Reward', 'rewardId');
      const stock = kindsAround('stock');
      let reserved: RedemptionEntity;
      try {
        reserved = await this.db.transaction(async (manager) => {
          await requireWritableMember(manager, tenant, memberId);
          // One member's redemptions are serialised (across rewards and replicas), so the points its
          // unfinished ones hold, and its redemptions counting towards the reward's limit, are known.
          await this.redemptions.lockMember(manager, tenant, memberId);
          // Unknown facts (the member, while members is unreachable) leave their gates to settlement.
          // Unfinished redemptions hold their points: without `held`, attempts the balance cannot
          // cover would each take a unit of stock until their debit fails.
          const facts = {
            reward,
            member,
            taken: reward.limitPerMember === null ? undefined : await this.redemptions.taken(manager, memberId, rewardId),
            held: member ? await this.redemptions.heldPoints(manager, tenant, memberId, since) : undefined,
          };
          // Points held by redemptions settled since `since` may be in the snapshot already.
          const recount = (refused: Error) =>
            refused instanceof DomainError && refused.code === 'INSUFFICIENT_POINTS' && attempt < HELD_ATTEMPTS && (facts.held ?? 0) > 0 && member !== undefined && member.balance >= reward.costPoints
              ? new HeldMayBeCounted()
              : refused;
          const early = refusal(facts, stock.before);
          if (early) throw recount(early);
          // A later gate refusing must not hide an empty stock (the gates' order); the rollback gives it back.
          const late = refusal(facts, stock.after);
          if (late) throw (await this.takeStock(manager, reward, rewardId)) ?? (await this.poolEmpty(manager, reward, rewardId)) ?? recount(late);
          const stored = await this.redemptions.insertPending(manager, {
            tenant,
            memberId,
            rewardId,
            pointsSpent: reward.costPoints,
            storeId: input.storeId ?? null,
            channel: input.channel ?? null,
            idempotencyKey: input.idempotencyKey,
            requestHash: hash,
            memberChecked: member !== undefined,
          });
          if (!stored) throw new KeyTaken();
          await this.audit.record(manager, identity, {
            action: 'redeemReward',
            targetType: 'Redemption',
            targetId: stored.id,
            memberId,
            after: { rewardId, pointsSpent: stored.pointsSpent, storeId: stored.storeId, channel: stored.channel, status: stored.status },
          });
          // The pool's next code, taken with the reservation: an empty pool refuses before any debit.
          if (reward.codePool && !(await this.rewards.takeCode(manager, rewardId, stored.id))) throw new OutOfStockError();
          // Last, so the reward row is locked only for the commit.
          const out = await this.takeStock(manager, reward, rewardId);
          if (out) throw out; // rolls back the redemption and its audit entry stored above
          return stored;
        });
      } catch (error) {
        if (error instanceof HeldMayBeCounted) continue;
        if (!(error instanceof KeyTaken)) throw error;
        return this.replay((await this.redemptions.byKey(tenant, input.idempotencyKey))!, hash);
      }
      return toRedemption(await this.settle(reserved));
    }
  }

  /** One unit of the reward's stock, unless it is unlimited; the OUT_OF_STOCK refusal when there is none left. */
  private async takeStock(manager: EntityManager, reward: RewardTerms, rewardId: string): Promise<OutOfStockError | null> {
    return reward.stock === null || (await this.rewards.takeStock(manager, rewardId)) ? null : new OutOfStockError();
  }

  /** The OUT_OF_STOCK refusal when the reward has a code pool and no code of it is free. */
  private async poolEmpty(manager: EntityManager, reward: RewardTerms, rewardId: string): Promise<OutOfStockError | null> {
    return reward.codePool && !(await this.rewards.hasFreeCode(manager, rewardId)) ? new OutOfStockError() : null;
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
    const reward = await this.rewards.terms(redemption.rewardId);
    // Only the member's gates: the reward's own terms were checked when it was reserved.
    const refused = member ? refusal({ member, reward: reward ?? undefined }, ['member']) : new NotFoundError('Member', 'memberId');
    if (refused) {
      if (await this.fail(redemption, refused.code, true)) throw refused;
    } else {
      await this.redemptions.memberChecked(this.db.manager, redemption.id);
    }
    const current = await this.redemptions.get(this.db.manager, redemption.id);
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
          // A pool code taken at reservation, or one drawn now.
          const code = (await this.redemptions.poolCode(manager, redemption.id)) ?? redemptionCode();
          if (await this.redemptions.complete(manager, redemption.id, code, transactionId)) {
            await appendOutbox(manager, [this.event('REDEMPTION_COMPLETED', redemption)]);
          }
          return this.redemptions.get(manager, redemption.id);
        });
      } catch (error) {
        // A code collision (≈59 bits: practically never): draw another.
        if (uniqueViolation(error) === 'redemptions_code_key' && attempt < 5) continue;
        throw error;
      }
    }
  }

  /** FAILED with the stock (and its pool code, never handed out) back, once; true if this call did it. `onlyUnchecked`: only while the member gates are not recorded as passed. */
  private async fail(redemption: RedemptionEntity, code: string, onlyUnchecked = false): Promise<boolean> {
    return this.db.transaction(async (manager) => {
      const failed = await this.redemptions.fail(manager, redemption.id, code, onlyUnchecked);
      if (failed) {
        await this.rewards.restock(manager, redemption.rewardId);
        await this.redemptions.releaseCode(manager, redemption.id);
      }
      return failed;
    });
  }

  /**
   * Refunds (a REVERSAL credit) and restocks a COMPLETED redemption. CANCELLING is recorded first,
   * with the reason, so a refund whose answer is lost, or a crash after it, leaves a row that a
   * replay or the recovery job finishes with the same idempotency key. While members cannot confirm
   * the refund, the redemption is returned as it stands (still COMPLETED); cancelling again is a no-op.
   */
  async cancel(identity: Identity, id: string, reason?: string | null): Promise<Redemption> {
    const redemptionId = parseId(id, 'id');
    let redemption = await this.redemptions.find(identity.tenant, redemptionId);
    if (!redemption) throw new NotFoundError('Redemption');
    if (redemption.fulfilledAt) throw new ConflictError('id', 'A fulfilled redemption cannot be cancelled: the reward was handed over');
    if (redemption.status === 'COMPLETED') {
      const started = redemption;
      redemption = await this.db.transaction(async (manager) => {
        const cancelling = await this.redemptions.startCancel(manager, started.id, reason?.slice(0, 500) ?? null);
        if (cancelling) {
          await this.audit.record(manager, identity, {
            action: 'cancelRedemption',
            targetType: 'Redemption',
            targetId: started.id,
            memberId: started.memberId,
            before: { status: 'COMPLETED' },
            after: { status: 'CANCELLING', reason: reason ?? null },
          });
        }
        return this.redemptions.get(manager, started.id);
      });
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
          if (await this.redemptions.cancelled(manager, redemption.id, reversalId)) {
            await this.rewards.restock(manager, redemption.rewardId);
            await appendOutbox(manager, [this.event('REDEMPTION_CANCELLED', redemption)]);
          }
          return this.redemptions.get(manager, redemption.id);
        }),
      compensate: async () => {
        // A rule refused the refund, so nothing was credited (a made refund is replayed, never
        // refused): the redemption stands as COMPLETED.
        await this.redemptions.stayCompleted(this.db.manager, redemption.id);
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
    // A refused debit failed and restocked the redemption: finished too.
    const settled = await recoverPending(
      await this.redemptions.stale('PENDING', 'created_at', olderThanMs, limit),
      async (r) => (await this.settle(r)).status !== 'PENDING',
    );
    const cancelled = await recoverPending(
      await this.redemptions.stale('CANCELLING', 'updated_at', olderThanMs, limit),
      async (r) => (await this.finishCancel(r)).status !== 'CANCELLING',
      (r, refusal) => this.log.warn({ err: refusal, redemptionId: r.id }, 'the ledger refused a cancellation’s refund; the redemption stays COMPLETED'),
    );
    return settled + cancelled;
  }

  private event(type: 'REDEMPTION_COMPLETED' | 'REDEMPTION_CANCELLED' | 'REDEMPTION_FULFILLED', redemption: RedemptionEntity): OutgoingEvent {
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
