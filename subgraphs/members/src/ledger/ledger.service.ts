import type { DataSource, EntityManager } from 'typeorm';
import {
  BadInputError,
  DomainError,
  CREDIT_TYPES as API_CREDIT_TYPES,
  DEBIT_TYPES as API_DEBIT_TYPES,
  IdempotencyConflictError,
  MAX_BALANCE,
  NotFoundError,
  appendOutbox,
  requestFingerprint,
  type LedgerTransaction,
  type OutgoingEvent,
} from '@loyalty/kit';
import type { EntryType, LedgerEntryEntity } from './ledger.entity';
import type { TierService } from '../tier/tier.service';
import type { LedgerKey, LedgerRepository } from './ledger.repository';
import { InsufficientPointsError } from './ledger.errors';

/**
 * A request to move points. `points` is signed: positive credits, negative debits.
 * `scope` namespaces idempotency keys: the public API's keys never collide with a service's.
 */
export interface MoveRequest {
  tenant: string;
  memberId: string;
  points: number;
  type: EntryType;
  idempotencyKey: string;
  scope: string;
  /**
   * Whether a refusal by the ledger's rules is final for this key (services: their saga compensates
   * on a refusal, so a later retry must not move points). The public API's keys are not used up by
   * a refused attempt.
   */
  finalRefusals?: boolean;
  /** Who asked: "api:<principal>" or "service:<name>". Kept on the entry for audit. */
  source: string;
  reason?: string | null;
  reference?: string | null;
  expiresAt?: Date | null;
}

/** What the rules decided for a move, before anything is written. */
interface Checked {
  balanceAfter: number;
  lifetime: number;
}

export interface MoveResult {
  entry: LedgerEntryEntity;
  /** false when the idempotency key had already moved these points: nothing moved this time. */
  created: boolean;
}

/** An entry as other services see it: the internal ledger API and the balance events. */
export const toLedgerTransaction = (entry: LedgerEntryEntity): LedgerTransaction => ({
  id: entry.id,
  memberId: entry.memberId,
  type: entry.type,
  points: entry.points,
  balanceAfter: entry.balanceAfter,
  reason: entry.reason,
  reference: entry.reference,
  createdAt: new Date(entry.createdAt).toISOString(),
  expiresAt: entry.expiresAt ? new Date(entry.expiresAt).toISOString() : null,
});

const CREDIT_TYPES: readonly EntryType[] = API_CREDIT_TYPES;
const DEBIT_TYPES: readonly EntryType[] = API_DEBIT_TYPES;
/** Points that count towards `lifetimeEarned`: earned, or granted by a person; never refunds. */
const LIFETIME_TYPES: EntryType[] = ['EARN', 'ADJUST'];

function requestHash(request: MoveRequest): string {
  const { memberId, points, type, reason, reference, expiresAt } = request;
  return requestFingerprint([memberId, points, type, reason ?? null, reference ?? null, expiresAt?.toISOString() ?? null]);
}

/**
 * The points ledger: the only writer of points. Each move is one transaction that
 *  1. claims the idempotency key (a concurrent twin waits on the key's row, then replays),
 *  2. locks the member's account row, so moves of one member are serialised in PostgreSQL
 *     (any number of replicas stay correct),
 *  3. appends the entry, creates a lot (credit) or draws lots soonest-expiry-first (debit),
 *  4. updates the maintained balance, upgrades the tier on EARN (TierService.earn), and writes the outbox events.
 */
export class LedgerService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: LedgerRepository,
    private readonly tiers: TierService,
  ) {}

  async move(request: MoveRequest): Promise<MoveResult> {
    const debit = request.points < 0;
    if (request.points === 0 || !Number.isInteger(request.points)) throw new Error('points must be a non-zero integer');
    if (!(debit ? DEBIT_TYPES : CREDIT_TYPES).includes(request.type)) {
      throw new Error(`${request.type} cannot ${debit ? 'debit' : 'credit'} points`);
    }
    const hash = requestHash(request);
    const key: LedgerKey = { tenant: request.tenant, scope: request.scope, key: request.idempotencyKey };

    const outcome = await this.db.transaction(async (manager): Promise<MoveResult | { refused: DomainError }> => {
      if (!(await this.repository.claimKey(manager, key, hash))) return { entry: await this.replay(manager, key, hash), created: false };
      let checked: Checked;
      try {
        checked = await this.check(manager, request, debit);
      } catch (error) {
        if (!(request.finalRefusals && error instanceof DomainError)) throw error;
        // Commit the claimed key with the refusal instead of rolling it back: whoever asks again
        // with it (a stale settler, a recovery job) is refused the same way, never moves points.
        await this.repository.refuseKey(manager, key, { code: error.code, message: error.message, field: error.field ?? null });
        return { refused: error };
      }
      return this.write(manager, request, key, debit, checked);
    });
    if ('refused' in outcome) throw outcome.refused;
    return outcome;
  }

  /**
   * Locks the member's account and applies the ledger's rules. Writes nothing, so a refusal it
   * throws can be kept with the key and committed without any part of the move.
   */
  private async check(manager: EntityManager, request: MoveRequest, debit: boolean): Promise<Checked> {
    const account = await this.repository.lockAccount(manager, request.tenant, request.memberId);
    if (!account) throw new NotFoundError('Member', 'memberId');
    if (debit && account.balance < -request.points) throw new InsufficientPointsError(account.balance, -request.points);

    const balanceAfter = account.balance + request.points;
    const lifetime = !debit && LIFETIME_TYPES.includes(request.type) ? request.points : 0;
    // Balances and lifetime totals are 32-bit (GraphQL Int): refuse before PostgreSQL overflows.
    if (balanceAfter > MAX_BALANCE || account.lifetimeEarned + lifetime > MAX_BALANCE) {
      throw new BadInputError('points', `This credit would take the member's points past ${MAX_BALANCE}`);
    }
    return { balanceAfter, lifetime };
  }

  /** The move itself, under the claimed key and the account lock: entry, lots, balance, tier, outbox. */
  private async write(manager: EntityManager, request: MoveRequest, key: LedgerKey, debit: boolean, { balanceAfter, lifetime }: Checked): Promise<MoveResult> {
    const entry = await this.repository.insertEntry(manager, {
      tenant: request.tenant,
      memberId: request.memberId,
      type: request.type,
      points: request.points,
      balanceAfter,
      reason: request.reason ?? null,
      reference: request.reference ?? null,
      source: request.source,
      idempotencyKey: request.idempotencyKey,
      expiresAt: request.expiresAt ?? null,
    });
    if (debit) await this.drawLots(manager, entry);
    else await this.repository.insertLot(manager, entry);
    await this.repository.updateAccount(manager, request.memberId, balanceAfter, lifetime);
    await this.repository.attachEntry(manager, key, entry.id);

    const events: OutgoingEvent[] = [
      {
        type: 'POINTS_BALANCE_CHANGED',
        tenant: request.tenant,
        key: request.memberId,
        payload: {
          memberId: request.memberId,
          balance: balanceAfter,
          delta: request.points,
          // The whole entry: subscribers read the transaction from the event, without a fetch.
          transaction: toLedgerTransaction(entry),
        },
      },
    ];
    if (request.type === 'EARN') {
      const tierChange = await this.tiers.earn(manager, request.tenant, request.memberId, request.points);
      if (tierChange) events.push({ type: 'TIER_CHANGED', tenant: request.tenant, key: request.memberId, payload: tierChange });
    }
    await appendOutbox(manager, events);
    return { entry, created: true };
  }

  /** The same key again: the first result if the input is the same, IDEMPOTENCY_CONFLICT if not. */
  private async replay(manager: EntityManager, key: LedgerKey, hash: string): Promise<LedgerEntryEntity> {
    const existing = await this.repository.keyedOutcome(manager, key);
    if (!existing || existing.requestHash !== hash) throw new IdempotencyConflictError();
    if (existing.refusal) throw new DomainError(existing.refusal.code, existing.refusal.message, existing.refusal.field ?? undefined);
    if (!existing.entry) throw new IdempotencyConflictError();
    return existing.entry;
  }

  /** Takes a debit from the member's open lots, soonest expiry first, and records which. */
  private async drawLots(manager: EntityManager, entry: LedgerEntryEntity): Promise<void> {
    let needed = -entry.points;
    const taken: { lotId: string; points: number }[] = [];
    for (const lot of await this.repository.openLots(manager, entry.memberId)) {
      if (needed === 0) break;
      const points = Math.min(lot.remaining, needed);
      taken.push({ lotId: lot.id, points });
      needed -= points;
    }
    if (needed > 0) throw new Error(`ledger invariant broken: lots of member ${entry.memberId} do not cover its balance`);
    await this.repository.allocate(manager, entry.id, taken);
  }

  findByKey(tenant: string, scope: string, key: string): Promise<LedgerEntryEntity | null> {
    return this.repository.findByKey({ tenant, scope, key });
  }

  /** The sum of the tenant's balances: what analytics' pointsOutstanding must equal. */
  outstanding(tenant: string): Promise<number> {
    return this.repository.outstanding(tenant);
  }
}
