import type { DataSource, EntityManager } from 'typeorm';
import {
  BadInputError,
  DomainError,
  IdempotencyConflictError,
  ServiceUnavailableError,
  appendOutbox,
  parseId,
  recoverPending,
  requestFingerprint,
  requireWritableMember,
  retryTransaction,
  runLedgerCall,
  startRecoveryJob,
  type ErrorCode,
  type AuditLog,
  type Identity,
  type LedgerClient,
  type Logger,
  type ReverseOrderResult,
} from '@loyalty/kit';
import type { ActivityRepository, Purchase } from '../activity/activity.repository';
import type { ActivityService } from '../activity/activity.service';
import type { ReturnInput } from './return.inputs';
import type { OrderReturn, ReturnOutcome, ReturnRepository } from './return.repository';
import { exceedsOrder, returnPoints, splitReversal, type Reversal } from './return.rule';

/** What a return did: the points taken back, the points the member had already spent, the REVERSAL. */
export interface ReturnResultData extends ReturnOutcome {
  memberId: string;
}

class KeyTaken extends Error {}

const reversalKey = (returnId: string) => `return:${returnId}`;

/**
 * recordReturn (docs/lifecycle.md, Returns): a return of part or all of an order takes back its
 * share of the points the order earned, floor(earned × returned / order amount) cumulatively, by
 * the kit's ledger saga like every move of points that starts here:
 *
 * 1. reserve: in one transaction, with the order's activity row locked (returns of one order are
 *    decided one at a time), check the returned total against the order amount, compute the
 *    return's points and store it PENDING under its idempotency key;
 * 2. ask members to reverse them (`reverse-order`, keyed `return:<id>`: asking again never takes
 *    twice and answers the first outcome): the order's pending points first, then the spendable
 *    balance down to 0;
 * 3. settle: REVERSED with what was taken and what was not, and each awarding campaign rule's share
 *    of what was taken comes off its campaign's budget and member cap (return_reversals, written
 *    once, with the ORDER_RETURNED event that nets the campaign's performance);
 *    a refusal marks it FAILED (it then counts for nothing); members unreachable leaves it PENDING
 *    for the recovery job, and the caller gets SERVICE_UNAVAILABLE: a retry with the same key
 *    answers the outcome.
 *
 * Budgets and caps are given back only what was actually taken: points the member had already
 * spent (unrecovered) were paid out by the campaign, so they stay counted.
 */
export class ReturnService {
  constructor(
    private readonly db: DataSource,
    private readonly returns: ReturnRepository,
    private readonly activities: ActivityRepository,
    private readonly earning: ActivityService,
    private readonly ledger: LedgerClient,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {}

  async record(identity: Identity, input: ReturnInput): Promise<ReturnResultData> {
    const memberId = parseId(input.memberId, 'memberId');
    if (input.amount <= 0) throw new BadInputError('amount', 'amount must be greater than 0');
    const { tenant } = identity;
    const hash = requestFingerprint(['return', memberId, input.orderId, input.amount]);
    const existing = await this.returns.byKey(tenant, input.idempotencyKey);
    if (existing) return this.replay(existing, hash);

    const order = await this.activities.purchase(tenant, memberId, input.orderId);
    if (!order) throw new BadInputError('orderId', 'No purchase with this orderId was recorded for this member');
    await this.credited(order);

    let stored: OrderReturn;
    try {
      stored = await this.db.transaction(async (manager) => {
        await requireWritableMember(manager, tenant, memberId);
        const reserved = await this.reserve(manager, tenant, memberId, input, hash);
        await this.audit.record(manager, identity, {
          action: 'recordReturn',
          targetType: 'Return',
          targetId: reserved.id,
          memberId,
          after: { orderId: input.orderId, amount: input.amount, points: reserved.points, status: reserved.status },
        });
        return reserved;
      });
    } catch (error) {
      if (!(error instanceof KeyTaken)) throw error;
      const twin = await this.returns.byKey(tenant, input.idempotencyKey);
      // Returns are never deleted: the twin that took the key is there.
      return this.replay(twin!, hash);
    }
    return stored.status === 'PENDING' ? this.answer(await this.reverse(stored)) : outcomeOf(stored);
  }

  /**
   * The order's points must be on the ledger before any of them is taken back: a credit still on
   * its way would otherwise land after the return, its pending points untouched by it.
   */
  private async credited(order: Purchase): Promise<void> {
    if (order.creditStatus !== 'PENDING') return;
    const transactionId = await this.earning.settleCredit(order).catch((error: unknown) => {
      // Refused for good: the order earned nothing, and its return takes nothing back.
      if (error instanceof DomainError) return 'refused';
      throw error;
    });
    if (transactionId === null) {
      throw new ServiceUnavailableError('The points of this order are not on the ledger yet; nothing was recorded: retry with the same idempotency key');
    }
  }

  private async reserve(manager: EntityManager, tenant: string, memberId: string, input: ReturnInput, hash: string): Promise<OrderReturn> {
    // Found just before, and activities are never deleted.
    const order = (await this.activities.lockPurchase(manager, tenant, memberId, input.orderId))!;
    if (order.creditStatus === 'PENDING') throw new ServiceUnavailableError('The points of this order are not on the ledger yet; retry with the same idempotency key');
    const returnedBefore = await this.returns.returnedAmount(manager, order.id);
    if (exceedsOrder(order.amount, returnedBefore, input.amount)) {
      throw new BadInputError('amount', `At most ${order.amount - returnedBefore} of this order's amount is left to return`);
    }
    const earned = order.creditStatus === 'CREDITED' ? order.pointsEarned : 0;
    const points = returnPoints(earned, order.amount, returnedBefore, input.amount);
    const fields = { tenant, activityId: order.id, memberId, orderId: input.orderId, amount: input.amount, points, requestHash: hash };
    // A return that takes nothing back (the order earned nothing, or its share rounds to 0) is final at once.
    const final = points === 0;
    const id = await this.returns.insert(manager, {
      ...fields,
      idempotencyKey: input.idempotencyKey,
      status: final ? 'REVERSED' : 'PENDING',
      pointsReversed: final ? 0 : null,
      pointsUnrecovered: final ? 0 : null,
    });
    if (!id) throw new KeyTaken();
    const stored: OrderReturn = { ...fields, id, status: 'PENDING', pointsReversed: null, pointsUnrecovered: null, transactionId: null, refusal: null };
    if (!final) return stored;
    await appendOutbox(manager, [returnedEvent(stored, { pointsReversed: 0, pointsUnrecovered: 0, transactionId: null }, [])]);
    return { ...stored, status: 'REVERSED', pointsReversed: 0, pointsUnrecovered: 0 };
  }

  /** The ledger step of a PENDING return; null while members cannot be reached (left for the recovery job). */
  private reverse(r: OrderReturn): Promise<ReturnResultData | null> {
    return runLedgerCall<ReverseOrderResult, ReturnResultData | null>({
      call: () => this.ledger.reverseOrder({ tenant: r.tenant, memberId: r.memberId, orderId: r.orderId, points: r.points, idempotencyKey: reversalKey(r.id) }),
      settle: (result) => this.settle(r, { pointsReversed: result.reversed, pointsUnrecovered: result.unrecovered, transactionId: result.transaction?.id ?? null }),
      compensate: async (refusal) => {
        await this.returns.failed(this.db.manager, r.id, { code: refusal.code, message: refusal.message, field: refusal.field ?? null });
      },
      leavePending: () => null,
      pendingMessage: 'members unreachable; return left PENDING for the recovery job',
      context: { returnId: r.id },
      log: this.log,
    });
  }

  /**
   * REVERSED, once: what was taken back is shared among the order's awards and taken off their
   * campaigns' budgets and member caps. The activity row is locked first, so settlements of two
   * returns of one order share its awards one after the other.
   */
  private async settle(r: OrderReturn, outcome: ReturnOutcome): Promise<ReturnResultData> {
    // It gives back the counters purchases reserve: a deadlock's victim is run again.
    await retryTransaction(() => this.db.transaction(async (manager) => {
      await this.activities.lockPurchase(manager, r.tenant, r.memberId, r.orderId);
      if (!(await this.returns.reversed(manager, r.id, outcome))) return; // settled by a replay or the recovery job
      const shares = await this.returns.awardShares(manager, r.activityId);
      const reversals = splitReversal(outcome.pointsReversed, shares);
      if (reversals.length > 0) {
        await this.returns.insertReversals(manager, r.id, reversals);
        const periodKeys = new Map(shares.map((s) => [s.ruleId, s.periodKey]));
        await this.earning.giveBack(manager, r.memberId, reversals.map((v) => ({ ...v, periodKey: periodKeys.get(v.ruleId) ?? null })));
      }
      await appendOutbox(manager, [returnedEvent(r, outcome, reversals)]);
    }));
    return { ...outcome, memberId: r.memberId };
  }

  private async replay(existing: OrderReturn, hash: string): Promise<ReturnResultData> {
    if (existing.requestHash !== hash) throw new IdempotencyConflictError();
    if (existing.status === 'FAILED') {
      const refusal = existing.refusal!;
      throw new DomainError(refusal.code as ErrorCode, refusal.message, refusal.field ?? undefined);
    }
    if (existing.status === 'PENDING') return this.answer(await this.reverse(existing));
    return outcomeOf(existing);
  }

  private answer(result: ReturnResultData | null): ReturnResultData {
    if (result) return result;
    throw new ServiceUnavailableError('The return is recorded but the ledger did not answer yet; retry with the same idempotency key for its outcome');
  }

  /** The recovery job: reverses returns left PENDING (a crash, members unreachable) for over `olderThanMs`. */
  async reversePending(olderThanMs: number, limit = 100): Promise<number> {
    const pending = await this.returns.pending(olderThanMs, limit);
    return recoverPending(pending, async (r) => (await this.reverse(r)) !== null);
  }
}

const outcomeOf = (r: OrderReturn): ReturnResultData => ({
  memberId: r.memberId,
  pointsReversed: r.pointsReversed ?? 0,
  pointsUnrecovered: r.pointsUnrecovered ?? 0,
  transactionId: r.transactionId,
});

function returnedEvent(r: OrderReturn, outcome: ReturnOutcome, reversals: readonly Reversal[]) {
  return {
    type: 'ORDER_RETURNED' as const,
    tenant: r.tenant,
    key: r.memberId,
    payload: {
      returnId: r.id,
      activityId: r.activityId,
      memberId: r.memberId,
      orderId: r.orderId,
      amount: r.amount,
      pointsReversed: outcome.pointsReversed,
      pointsUnrecovered: outcome.pointsUnrecovered,
      reversals: reversals.map(({ campaignId, ruleId, points }) => ({ campaignId, ruleId, points })),
    },
  };
}

/** The recovery job: every `intervalMs`, reverses returns PENDING for over `olderThanMs`. */
export function startReturnRecovery(service: ReturnService, log: Logger, intervalMs: number, olderThanMs: number): () => Promise<void> {
  return startRecoveryJob(
    { name: 'return recovery', intervalMs, run: () => service.reversePending(olderThanMs), message: 'reversed pending returns', countedAs: 'reversed' },
    log,
  );
}
