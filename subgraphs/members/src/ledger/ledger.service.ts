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
  type ErrorCode,
  type LedgerTransaction,
  type OutgoingEvent,
} from '@loyalty/kit';
import type { EntryType, LedgerEntryEntity } from './ledger.entity';
import type { TierService } from '../tier/tier.service';
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

interface EntryRow {
  id: string;
  seq: string;
  tenant: string;
  member_id: string;
  type: EntryType;
  points: number;
  balance_after: number;
  reason: string | null;
  reference: string | null;
  source: string;
  idempotency_key: string;
  created_at: Date;
  expires_at: Date | null;
}

export const toEntry = (row: EntryRow): LedgerEntryEntity => ({
  id: row.id,
  seq: String(row.seq),
  tenant: row.tenant,
  memberId: row.member_id,
  type: row.type,
  points: row.points,
  balanceAfter: row.balance_after,
  reason: row.reason,
  reference: row.reference,
  source: row.source,
  idempotencyKey: row.idempotency_key,
  createdAt: row.created_at,
  expiresAt: row.expires_at,
});

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
    private readonly tiers: TierService,
  ) {}

  async move(request: MoveRequest): Promise<MoveResult> {
    const debit = request.points < 0;
    if (request.points === 0 || !Number.isInteger(request.points)) throw new Error('points must be a non-zero integer');
    if (!(debit ? DEBIT_TYPES : CREDIT_TYPES).includes(request.type)) {
      throw new Error(`${request.type} cannot ${debit ? 'debit' : 'credit'} points`);
    }
    const hash = requestHash(request);

    const outcome = await this.db.transaction(async (manager): Promise<MoveResult | { refused: DomainError }> => {
      const claimed = (await manager.query(
        `INSERT INTO idempotency_keys (tenant, scope, key, request_hash) VALUES ($1, $2, $3, $4)
         ON CONFLICT DO NOTHING RETURNING key`,
        [request.tenant, request.scope, request.idempotencyKey, hash],
      )) as unknown[];
      if (claimed.length === 0) return { entry: await this.replay(manager, request, hash), created: false };
      let checked: Checked;
      try {
        checked = await this.check(manager, request, debit);
      } catch (error) {
        if (!(request.finalRefusals && error instanceof DomainError)) throw error;
        // Commit the claimed key with the refusal instead of rolling it back: whoever asks again
        // with it (a stale settler, a recovery job) is refused the same way, never moves points.
        await manager.query('UPDATE idempotency_keys SET refusal = $4 WHERE tenant = $1 AND scope = $2 AND key = $3', [
          request.tenant,
          request.scope,
          request.idempotencyKey,
          JSON.stringify({ code: error.code, message: error.message, field: error.field ?? null }),
        ]);
        return { refused: error };
      }
      return this.write(manager, request, debit, checked);
    });
    if ('refused' in outcome) throw outcome.refused;
    return outcome;
  }

  /**
   * Locks the member's account and applies the ledger's rules. Writes nothing, so a refusal it
   * throws can be kept with the key and committed without any part of the move.
   */
  private async check(manager: EntityManager, request: MoveRequest, debit: boolean): Promise<Checked> {
    const [account] = (await manager.query(
      'SELECT balance, lifetime_earned FROM point_accounts WHERE member_id = $1 AND tenant = $2 FOR UPDATE',
      [request.memberId, request.tenant],
    )) as { balance: number; lifetime_earned: number }[];
    if (!account) throw new NotFoundError('Member', 'memberId');
    if (debit && account.balance < -request.points) throw new InsufficientPointsError(account.balance, -request.points);

    const balanceAfter = account.balance + request.points;
    const lifetime = !debit && LIFETIME_TYPES.includes(request.type) ? request.points : 0;
    // Balances and lifetime totals are 32-bit (GraphQL Int): refuse before PostgreSQL overflows.
    if (balanceAfter > MAX_BALANCE || account.lifetime_earned + lifetime > MAX_BALANCE) {
      throw new BadInputError('points', `This credit would take the member's points past ${MAX_BALANCE}`);
    }
    return { balanceAfter, lifetime };
  }

  /** The move itself, under the claimed key and the account lock: entry, lots, balance, tier, outbox. */
  private async write(manager: EntityManager, request: MoveRequest, debit: boolean, { balanceAfter, lifetime }: Checked): Promise<MoveResult> {
    const [row] = (await manager.query(
      `INSERT INTO ledger_entries
         (tenant, member_id, type, points, balance_after, reason, reference, source, idempotency_key, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
      [
        request.tenant,
        request.memberId,
        request.type,
        request.points,
        balanceAfter,
        request.reason ?? null,
        request.reference ?? null,
        request.source,
        request.idempotencyKey,
        request.expiresAt ?? null,
      ],
    )) as EntryRow[];
    const entry = toEntry(row!);

    if (debit) await this.drawLots(manager, entry);
    else {
      await manager.query(
        `INSERT INTO point_lots (tenant, member_id, entry_id, points, remaining, expires_at)
         VALUES ($1, $2, $3, $4, $4, $5)`,
        [request.tenant, request.memberId, entry.id, request.points, request.expiresAt ?? null],
      );
    }
    await manager.query(
      `UPDATE point_accounts SET balance = $2, lifetime_earned = lifetime_earned + $3, updated_at = now()
       WHERE member_id = $1`,
      [request.memberId, balanceAfter, lifetime],
    );
    await manager.query(
      'UPDATE idempotency_keys SET entry_id = $4 WHERE tenant = $1 AND scope = $2 AND key = $3',
      [request.tenant, request.scope, request.idempotencyKey, entry.id],
    );

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
  private async replay(manager: EntityManager, request: MoveRequest, hash: string): Promise<LedgerEntryEntity> {
    const [existing] = (await manager.query(
      `SELECT k.request_hash AS key_hash, k.refusal, e.* FROM idempotency_keys k LEFT JOIN ledger_entries e ON e.id = k.entry_id
       WHERE k.tenant = $1 AND k.scope = $2 AND k.key = $3`,
      [request.tenant, request.scope, request.idempotencyKey],
    )) as (EntryRow & { key_hash: string; refusal: { code: ErrorCode; message: string; field: string | null } | null })[];
    if (!existing || existing.key_hash !== hash) throw new IdempotencyConflictError();
    if (existing.refusal) throw new DomainError(existing.refusal.code, existing.refusal.message, existing.refusal.field ?? undefined);
    if (!existing.id) throw new IdempotencyConflictError();
    return toEntry(existing);
  }

  /** Takes a debit from the member's open lots, soonest expiry first, and records which. */
  private async drawLots(manager: EntityManager, entry: LedgerEntryEntity): Promise<void> {
    const lots = (await manager.query(
      `SELECT id, remaining FROM point_lots
       WHERE member_id = $1 AND remaining > 0 AND (pending_until IS NULL OR pending_until <= now())
       ORDER BY expires_at ASC NULLS LAST, created_at, id`,
      [entry.memberId],
    )) as { id: string; remaining: number }[];
    let needed = -entry.points;
    const taken: { lotId: string; points: number }[] = [];
    for (const lot of lots) {
      if (needed === 0) break;
      const points = Math.min(lot.remaining, needed);
      taken.push({ lotId: lot.id, points });
      needed -= points;
    }
    if (needed > 0) throw new Error(`ledger invariant broken: lots of member ${entry.memberId} do not cover its balance`);
    await manager.query(
      `UPDATE point_lots l SET remaining = l.remaining - t.points
       FROM unnest($1::uuid[], $2::int[]) AS t(id, points) WHERE l.id = t.id`,
      [taken.map((t) => t.lotId), taken.map((t) => t.points)],
    );
    await manager.query(
      `INSERT INTO lot_allocations (entry_id, lot_id, points)
       SELECT $1, * FROM unnest($2::uuid[], $3::int[])`,
      [entry.id, taken.map((t) => t.lotId), taken.map((t) => t.points)],
    );
  }

  async findByKey(tenant: string, scope: string, key: string): Promise<LedgerEntryEntity | null> {
    const [row] = (await this.db.query(
      `SELECT e.* FROM idempotency_keys k JOIN ledger_entries e ON e.id = k.entry_id
       WHERE k.tenant = $1 AND k.scope = $2 AND k.key = $3`,
      [tenant, scope, key],
    )) as EntryRow[];
    return row ? toEntry(row) : null;
  }
}
