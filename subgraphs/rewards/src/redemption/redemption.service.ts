import type { DataSource, EntityManager } from 'typeorm';
import {
  ConflictError,
  DomainError,
  IdempotencyConflictError,
  NotFoundError,
  appendOutbox,
  parseId,
  requestFingerprint,
  repeatEvery,
  requireMemberAccess,
  type Identity,
  type LedgerClient,
  type Logger,
  type Role,
} from '@loyalty/kit';
import { RedemptionEntity } from './redemption.entity';
import { redemptionCode } from './redemption.code';
import { NotEligibleError, OutOfStockError, RewardUnavailableError } from './redemption.errors';
import type { RedeemRewardInput } from './redemption.inputs';
import { toRedemption, type Redemption } from './redemption.type';

/** Who may redeem on a member's behalf (the member itself always may). */
export const REDEEM_ROLES: Role[] = ['admin', 'agent', 'integration'];
export const CANCEL_ROLES: Role[] = ['admin', 'agent'];
export const READ_REDEMPTIONS: Role[] = ['admin', 'marketer', 'agent', 'integration'];

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

const debitKey = (redemptionId: string) => `redemption:${redemptionId}`;
const reversalKey = (redemptionId: string) => `redemption-cancel:${redemptionId}`;

/**
 * Redemption, as DESIGN.md describes it: reserve (a PENDING redemption and one unit of stock, in
 * one transaction, after every check), then debit the ledger with a key derived from the
 * redemption, then settle: COMPLETED with a code, or FAILED with the stock given back. If the
 * ledger cannot be reached the redemption stays PENDING and `settlePending` (the recovery job, or a
 * retry with the same idempotency key) finishes it: the debit is idempotent, so asking again tells
 * whether it happened, and every settlement is a conditional update, so it happens once.
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
    requireMemberAccess(identity, memberId, REDEEM_ROLES);
    const { tenant } = identity;
    const hash = requestFingerprint([memberId, rewardId, input.storeId ?? null, input.channel ?? null]);

    const existing = await this.byKey(tenant, input.idempotencyKey);
    if (existing) return this.replay(existing, hash);

    const [member] = await this.ledger.members(tenant, [memberId]);
    if (!member) throw new NotFoundError('Member', 'memberId');
    if (member.status !== 'ACTIVE') throw new NotEligibleError('The member is suspended');

    let reserved: RedemptionEntity;
    try {
      reserved = await this.db.transaction(async (manager) => {
        // The reward row lock serialises redemptions of one reward: stock and per-member limits
        // are checked and taken atomically, across any number of replicas.
        const [reward] = (await manager.query('SELECT * FROM rewards WHERE tenant = $1 AND id = $2 FOR UPDATE', [tenant, rewardId])) as RewardRow[];
        if (!reward) throw new NotFoundError('Reward', 'rewardId');
        const now = Date.now();
        if (!reward.active) throw new RewardUnavailableError('This reward is not active');
        if ((reward.valid_from && new Date(reward.valid_from).getTime() > now) || (reward.valid_until && new Date(reward.valid_until).getTime() <= now)) {
          throw new RewardUnavailableError('This reward is outside its validity window');
        }
        if (reward.min_tier_rank !== null && member.tier.rank < reward.min_tier_rank) {
          throw new NotEligibleError(`This reward needs a tier of rank ${reward.min_tier_rank} or higher`);
        }
        if (reward.limit_per_member !== null) {
          const [{ taken }] = (await manager.query(
            `SELECT count(*)::int AS taken FROM redemptions
             WHERE member_id = $1 AND reward_id = $2 AND status IN ('PENDING', 'COMPLETED')`,
            [memberId, rewardId],
          )) as [{ taken: number }];
          if (taken >= reward.limit_per_member) throw new NotEligibleError(`This reward is limited to ${reward.limit_per_member} per member`);
        }
        if (reward.stock === 0) throw new OutOfStockError();
        if (member.balance < reward.cost_points) {
          throw new DomainError('INSUFFICIENT_POINTS', `The balance (${member.balance}) does not cover ${reward.cost_points} points`, 'rewardId');
        }
        if (reward.stock !== null) await manager.query('UPDATE rewards SET stock = stock - 1, updated_at = now() WHERE id = $1', [rewardId]);
        const [row] = (await manager.query(
          `INSERT INTO redemptions (tenant, member_id, reward_id, points_spent, status, store_id, channel, idempotency_key, request_hash)
           VALUES ($1, $2, $3, $4, 'PENDING', $5, $6, $7, $8)
           ON CONFLICT (tenant, idempotency_key) DO NOTHING RETURNING id`,
          [tenant, memberId, rewardId, reward.cost_points, input.storeId ?? null, input.channel ?? null, input.idempotencyKey, hash],
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

  /** The same key again: the first result (finishing it if still PENDING), or IDEMPOTENCY_CONFLICT. */
  private async replay(existing: RedemptionEntity, hash: string): Promise<Redemption> {
    if (existing.requestHash !== hash) throw new IdempotencyConflictError();
    const settled = existing.status === 'PENDING' ? await this.settle(existing) : existing;
    if (settled.status === 'FAILED') throw new DomainError((settled.failureCode ?? 'INSUFFICIENT_POINTS') as never, 'This redemption failed', 'rewardId');
    return toRedemption(settled);
  }

  /**
   * Asks the ledger to debit (idempotently) and records the outcome. A ledger rule failing
   * (e.g. INSUFFICIENT_POINTS) fails the redemption and gives the stock back, and is rethrown;
   * an unreachable ledger leaves it PENDING for the recovery job.
   */
  private async settle(redemption: RedemptionEntity): Promise<RedemptionEntity> {
    let transactionId: string;
    try {
      const transaction = await this.ledger.debit({
        tenant: redemption.tenant,
        memberId: redemption.memberId,
        points: redemption.pointsSpent,
        type: 'REDEEM',
        idempotencyKey: debitKey(redemption.id),
        reference: redemption.id,
        reason: 'Reward redemption',
      });
      transactionId = transaction.id;
    } catch (error) {
      if (error instanceof DomainError) {
        await this.fail(redemption, error.code);
        throw error;
      }
      this.log.warn({ err: error, redemptionId: redemption.id }, 'ledger unreachable; redemption left PENDING for recovery');
      return redemption;
    }
    return this.complete(redemption, transactionId);
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
        if ((error as { constraint?: string }).constraint === 'redemptions_code_key' && attempt < 5) continue;
        throw error;
      }
    }
  }

  private async fail(redemption: RedemptionEntity, code: string): Promise<void> {
    await this.db.transaction(async (manager) => {
      const updated = (await manager.query(
        `UPDATE redemptions SET status = 'FAILED', failure_code = $2, updated_at = now() WHERE id = $1 AND status = 'PENDING'`,
        [redemption.id, code],
      )) as [unknown[], number];
      if (updated[1] > 0) await this.restock(manager, redemption.rewardId);
    });
  }

  private async restock(manager: EntityManager, rewardId: string): Promise<void> {
    await manager.query('UPDATE rewards SET stock = stock + 1, updated_at = now() WHERE id = $1 AND stock IS NOT NULL', [rewardId]);
  }

  /** Refunds (a REVERSAL credit) and restocks a COMPLETED redemption; cancelling again is a no-op. */
  async cancel(identity: Identity, id: string, reason?: string | null): Promise<Redemption> {
    const redemptionId = parseId(id, 'id');
    const redemption = await this.db.getRepository(RedemptionEntity).findOneBy({ tenant: identity.tenant, id: redemptionId });
    if (!redemption) throw new NotFoundError('Redemption');
    if (redemption.status === 'CANCELLED') return toRedemption(redemption);
    if (redemption.status !== 'COMPLETED') throw new ConflictError('id', `A ${redemption.status} redemption cannot be cancelled`);
    const reversal = await this.ledger.credit({
      tenant: identity.tenant,
      memberId: redemption.memberId,
      points: redemption.pointsSpent,
      type: 'REVERSAL',
      idempotencyKey: reversalKey(redemption.id),
      reference: redemption.id,
      reason: 'Redemption cancelled',
    });
    return this.db.transaction(async (manager) => {
      const updated = (await manager.query(
        `UPDATE redemptions SET status = 'CANCELLED', reversal_transaction_id = $2, cancel_reason = $3, updated_at = now()
         WHERE id = $1 AND status = 'COMPLETED'`,
        [redemption.id, reversal.id, reason?.slice(0, 500) ?? null],
      )) as [unknown[], number];
      if (updated[1] > 0) {
        await this.restock(manager, redemption.rewardId);
        await appendOutbox(manager, [this.event('REDEMPTION_CANCELLED', redemption)]);
      }
      return toRedemption(await manager.getRepository(RedemptionEntity).findOneByOrFail({ id: redemption.id }));
    });
  }

  /** Recovery: settles redemptions left PENDING (by a crash or an unreachable ledger) for over `olderThanMs`. */
  async settlePending(olderThanMs: number, limit = 50): Promise<number> {
    const pending = await this.db
      .getRepository(RedemptionEntity)
      .createQueryBuilder('r')
      .where(`r.status = 'PENDING' AND r.created_at < now() - make_interval(secs => :seconds)`, { seconds: olderThanMs / 1000 })
      .orderBy('r.created_at')
      .take(limit)
      .getMany();
    let settled = 0;
    for (const redemption of pending) {
      const result = await this.settle(redemption).catch((error: unknown) => {
        if (!(error instanceof DomainError)) throw error;
        return { status: 'FAILED' } as RedemptionEntity; // failed and restocked: settled too
      });
      if (result.status !== 'PENDING') settled++;
    }
    return settled;
  }

  private async byKey(tenant: string, key: string): Promise<RedemptionEntity | null> {
    return this.db.getRepository(RedemptionEntity).findOneBy({ tenant, idempotencyKey: key });
  }

  private event(type: string, redemption: RedemptionEntity) {
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

/** The recovery job: every `intervalMs`, settles redemptions PENDING for over `olderThanMs`. */
export function startRecovery(service: RedemptionService, log: Logger, intervalMs = 5000, olderThanMs = 10_000): () => Promise<void> {
  return repeatEvery(
    intervalMs,
    async () => {
      const settled = await service.settlePending(olderThanMs);
      if (settled > 0) log.info({ settled }, 'recovered pending redemptions');
    },
    log,
    'redemption recovery',
  );
}
