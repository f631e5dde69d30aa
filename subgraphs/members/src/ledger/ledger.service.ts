import { randomUUID } from 'node:crypto';
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
  restAfterBatch,
  type LedgerTransaction,
  type OutgoingEvent,
} from '@loyalty/kit';
import type { EntryType, LedgerEntryEntity } from './ledger.entity';
import type { TierService } from '../tier/tier.service';
import type { LedgerKey, LedgerRepository, LockedAccount, NewEntry } from './ledger.repository';
import { InsufficientPointsError } from './ledger.errors';
import { draw, inherit, returnTake, settle, type DueLot } from './lots.rule';

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
  /** A credit's own expiry (else the program's expiry policy decides). */
  expiresAt?: Date | null;
  /** An EARN credit held back until then (a return window): pending, not spendable. */
  pendingUntil?: Date | null;
  /** The order an EARN credit was earned on: pending points activate, and returns reverse, by order. */
  orderId?: string | null;
  /** Runs in the move's transaction once its entry is written (a replay runs nothing): the audit entry. */
  written?: (manager: EntityManager, entry: LedgerEntryEntity) => Promise<void>;
}

/** A return's debit: take back `points` the order earned (campaigns computed them from the amounts). */
export interface ReverseRequest {
  tenant: string;
  memberId: string;
  orderId: string;
  points: number;
  idempotencyKey: string;
  scope: string;
  source: string;
}

export interface ReverseResult {
  entry: LedgerEntryEntity | null;
  reversed: number;
  unrecovered: number;
}

/**
 * When the program's expiry policy makes a credit booked now expire. `rolling`: the lot follows
 * the member's activity (ROLLING), and every EARN or REDEEM moves the member's rolling lots to `expiresAt`.
 */
export interface CreditTerms {
  expiresAt: Date | null;
  rolling: boolean;
}
export type CreditTermsOf = (manager: EntityManager, tenant: string, now: Date) => Promise<CreditTerms>;
const NO_TERMS: CreditTerms = { expiresAt: null, rolling: false };
/** Until a program says otherwise, points never expire. */
export const NEVER_EXPIRE: CreditTermsOf = () => Promise.resolve(NO_TERMS);

/** Runs in the transaction of a move, once it is written, under the member's account lock (segments refresh). */
export type AfterMove = (manager: EntityManager, tenant: string, memberId: string) => Promise<void>;
/**
 * A move of `points` from one member's spendable points to another member of the tenant: a TRANSFER
 * debit of the sender and a TRANSFER credit of the receiver under one idempotency key, which answers
 * with the debit.
 */
export interface TransferRequest {
  tenant: string;
  fromMemberId: string;
  toMemberId: string;
  points: number;
  idempotencyKey: string;
  scope: string;
  source: string;
  /**
   * Runs under both accounts' locks, settled, before anything is written (a replay runs nothing):
   * the caller's rules (who may take part, daily limits). A throw refuses the transfer, and since
   * the sender's account is locked, what it reads of the sender's transfers cannot change meanwhile.
   */
  allowed?: (manager: EntityManager, accounts: { sender: LockedAccount; receiver: LockedAccount }) => Promise<void>;
  /** Runs in the transfer's transaction once both entries are written: the audit entry. */
  written?: (manager: EntityManager, entries: { debit: LedgerEntryEntity; credit: LedgerEntryEntity }) => Promise<void>;
}

/** What the rules decided for a move, before anything is written. */
interface Checked {
  account: LockedAccount;
  balanceAfter: number;
  pendingAfter: number;
  lifetime: number;
}

/** The points a tenant owes its members now (pointsLiability). */
export interface PointsLiabilityFigures {
  spendable: number;
  pending: number;
  expiring: { withinDays: number; points: number }[];
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
  pendingUntil: entry.pendingUntil ? new Date(entry.pendingUntil).toISOString() : null,
});

const CREDIT_TYPES: readonly EntryType[] = API_CREDIT_TYPES;
const DEBIT_TYPES: readonly EntryType[] = API_DEBIT_TYPES;
/** Points that count towards `lifetimeEarned`: earned, or granted by a person; never refunds. */
const LIFETIME_TYPES: EntryType[] = ['EARN', 'ADJUST'];

function requestHash(request: MoveRequest): string {
  const { memberId, points, type, reason, reference, expiresAt, pendingUntil, orderId } = request;
  return requestFingerprint([
    memberId,
    points,
    type,
    reason ?? null,
    reference ?? null,
    expiresAt?.toISOString() ?? null,
    // Only when given, so keys claimed before pending credits existed still replay.
    ...(pendingUntil || orderId ? [pendingUntil?.toISOString() ?? null, orderId ?? null] : []),
  ]);
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
    private readonly creditTerms: CreditTermsOf = NEVER_EXPIRE,
    private readonly afterMove: AfterMove = () => Promise.resolve(),
  ) {}

  async move(request: MoveRequest): Promise<MoveResult> {
    const debit = request.points < 0;
    if (request.points === 0 || !Number.isInteger(request.points)) throw new Error('points must be a non-zero integer');
    if (!(debit ? DEBIT_TYPES : CREDIT_TYPES).includes(request.type)) {
      throw new Error(`${request.type} cannot ${debit ? 'debit' : 'credit'} points`);
    }
    if (debit && request.expiresAt) throw new BadInputError('expiresAt', 'Only a credit can have an expiry');
    if (request.pendingUntil && request.type !== 'EARN') throw new BadInputError('pendingUntil', 'Only EARN credits can be pending');
    // The request as sent is what a retry must match, so it is hashed before a pending time that is
    // already over is dropped (such a credit is spendable at once).
    const hash = requestHash(request);
    if (request.pendingUntil && request.pendingUntil.getTime() <= Date.now()) request = { ...request, pendingUntil: null };
    const key: LedgerKey = { tenant: request.tenant, scope: request.scope, key: request.idempotencyKey };

    const outcome = await this.db.transaction(async (manager): Promise<MoveResult | { refused: DomainError }> => {
      if (!(await this.repository.claimKey(manager, key, hash))) return { entry: await this.replay(manager, key, hash), created: false };
      const events: OutgoingEvent[] = [];
      let checked: Checked;
      try {
        // Checked after the key: a replay of a credit whose expiry has since passed still replays.
        if (request.expiresAt && request.expiresAt.getTime() <= Date.now()) throw new BadInputError('expiresAt', 'expiresAt must lie in the future');
        const account = await this.lockSettled(manager, request.tenant, request.memberId, events);
        checked = this.check(account, request, debit);
      } catch (error) {
        if (!(request.finalRefusals && error instanceof DomainError)) throw error;
        // Commit the claimed key with the refusal instead of rolling it back: whoever asks again
        // with it (a stale settler, a recovery job) is refused the same way, never moves points.
        await this.repository.refuseKey(manager, key, { code: error.code, message: error.message, field: error.field ?? null });
        await appendOutbox(manager, events);
        return { refused: error };
      }
      const result = await this.write(manager, request, key, debit, checked, events);
      await request.written?.(manager, result.entry);
      return result;
    });
    if ('refused' in outcome) throw outcome.refused;
    return outcome;
  }

  /**
   * Locks the member's account and books what is due on its lots first (pending points whose time
   * is over, points past their expiry), so the move sees, and its entry shows, the true balance.
   */
  private async lockSettled(manager: EntityManager, tenant: string, memberId: string, events: OutgoingEvent[]): Promise<LockedAccount> {
    const account = await this.repository.lockAccount(manager, tenant, memberId);
    if (!account) throw new NotFoundError('Member', 'memberId');
    const [settled] = (await this.settleAccounts(manager, [account], events)).accounts;
    return settled!;
  }

  /** Applies the ledger's rules to the locked account. Writes nothing, so a refusal can be kept with the key. */
  private check(account: LockedAccount, request: MoveRequest, debit: boolean): Checked {
    if (account.closed) throw new NotFoundError('Member', 'memberId', 'The member was erased');
    if (debit && account.balance < -request.points) throw new InsufficientPointsError(account.balance, -request.points);
    const pending = Boolean(request.pendingUntil);
    const balanceAfter = pending ? account.balance : account.balance + request.points;
    const pendingAfter = pending ? account.pending + request.points : account.pending;
    const lifetime = !debit && LIFETIME_TYPES.includes(request.type) ? request.points : 0;
    // Balances and lifetime totals are 32-bit (GraphQL Int): refuse before PostgreSQL overflows.
    if (balanceAfter + pendingAfter > MAX_BALANCE || account.lifetimeEarned + lifetime > MAX_BALANCE) {
      throw new BadInputError('points', `This credit would take the member's points past ${MAX_BALANCE}`);
    }
    return { account, balanceAfter, pendingAfter, lifetime };
  }

  /** The move itself, under the claimed key and the account lock: entry, lots, balance, tier, outbox. */
  private async write(
    manager: EntityManager,
    request: MoveRequest,
    key: LedgerKey,
    debit: boolean,
    { account, balanceAfter, pendingAfter, lifetime }: Checked,
    events: OutgoingEvent[],
  ): Promise<MoveResult> {
    // The program's policy matters to credits (their lot's expiry) and, under ROLLING, to redeems.
    const terms = !debit || request.type === 'REDEEM' ? await this.creditTerms(manager, request.tenant, new Date()) : NO_TERMS;
    const expiresAt = debit ? null : (request.expiresAt ?? terms.expiresAt);
    // Under ROLLING expiry, every earn and redeem gives all of the member's points a new life
    // (before a debit draws on them: soonest expiry first).
    if (terms.rolling && terms.expiresAt && (request.type === 'EARN' || request.type === 'REDEEM')) {
      await this.repository.extendRolling(manager, request.memberId, terms.expiresAt);
    }
    const entry = await this.repository.book(manager, {
      entry: {
        tenant: request.tenant,
        memberId: request.memberId,
        type: request.type,
        points: request.points,
        balanceAfter,
        reason: request.reason ?? null,
        reference: request.reference ?? null,
        source: request.source,
        idempotencyKey: request.idempotencyKey,
        expiresAt,
        pendingUntil: request.pendingUntil ?? null,
        orderId: request.orderId ?? null,
      },
      key,
      lot: debit ? null : { rolling: terms.rolling && !request.expiresAt },
      taken: debit ? await this.lotsToDraw(manager, request.memberId, -request.points) : [],
      account: { memberId: request.memberId, balance: balanceAfter, pending: pendingAfter },
      lifetimeDelta: lifetime,
    });

    events.push(balanceChanged(entry, balanceAfter - account.balance, pendingAfter - account.pending, balanceAfter));
    if (request.type === 'EARN') {
      const tierChange = await this.tiers.earn(manager, request.tenant, request.memberId, request.points);
      if (tierChange) events.push({ type: 'TIER_CHANGED', tenant: request.tenant, key: request.memberId, payload: tierChange });
    }
    await appendOutbox(manager, events);
    await this.afterMove(manager, request.tenant, request.memberId);
    return { entry, created: true };
  }

  /**
   * A transfer: one transaction that claims the key, locks both accounts in member-id order (so
   * transfers A→B and B→A at once queue instead of deadlocking), settles what is due on them, then
   * takes the points from the sender's spendable lots in the order debits draw (pending and expired
   * points are never spendable) and opens lots for the receiver with the expiry of what was taken
   * (lots.rule.ts `inherit`). Neither tier qualification nor lifetimeEarned moves, on either side:
   * a transfer earns nothing. Not a ROLLING activity either: it extends no one's rolling lots.
   * Refusals roll everything back, the key included, as for the public API's other moves.
   */
  async transfer(request: TransferRequest): Promise<MoveResult> {
    const { tenant, fromMemberId, toMemberId, points } = request;
    if (points < 1 || !Number.isInteger(points)) throw new Error('points must be a positive integer');
    if (fromMemberId === toMemberId) throw new Error('a transfer needs two members');
    const hash = requestFingerprint(['transfer', fromMemberId, toMemberId, points]);
    const key: LedgerKey = { tenant, scope: request.scope, key: request.idempotencyKey };
    return this.db.transaction(async (manager): Promise<MoveResult> => {
      if (!(await this.repository.claimKey(manager, key, hash))) return { entry: await this.replay(manager, key, hash), created: false };
      const locked = new Map<string, LockedAccount>();
      for (const memberId of [fromMemberId, toMemberId].sort()) {
        const account = await this.repository.lockAccount(manager, tenant, memberId);
        if (!account) throw new NotFoundError('Member', memberId === fromMemberId ? 'fromMemberId' : 'toMemberId');
        locked.set(memberId, account);
      }
      const events: OutgoingEvent[] = [];
      const { accounts } = await this.settleAccounts(manager, [locked.get(fromMemberId)!, locked.get(toMemberId)!], events);
      const [sender, receiver] = accounts as [LockedAccount, LockedAccount];
      if (sender.closed) throw new NotFoundError('Member', 'fromMemberId', 'The member was erased');
      if (receiver.closed) throw new NotFoundError('Member', 'toMemberId', 'The member was erased');
      await request.allowed?.(manager, { sender, receiver });
      if (sender.balance < points) throw new InsufficientPointsError(sender.balance, points);
      if (receiver.balance + receiver.pending + points > MAX_BALANCE) {
        throw new BadInputError('points', `This transfer would take the receiving member's points past ${MAX_BALANCE}`);
      }
      const { taken, short, lots } = inherit(await this.repository.openLots(manager, fromMemberId), points);
      if (short > 0) throw new Error(`ledger invariant broken: lots of member ${fromMemberId} do not cover its balance`);
      const entry = (memberId: string, signed: number, balanceAfter: number, reference: string, reason: string, expiresAt: Date | null): NewEntry => ({
        tenant,
        memberId,
        type: 'TRANSFER',
        points: signed,
        balanceAfter,
        reason,
        reference,
        source: request.source,
        idempotencyKey: request.idempotencyKey,
        expiresAt,
        pendingUntil: null,
        orderId: null,
      });
      const senderAfter = sender.balance - points;
      const receiverAfter = receiver.balance + points;
      const debit = await this.repository.book(manager, {
        entry: entry(fromMemberId, -points, senderAfter, toMemberId, 'Points sent to another member', null),
        key,
        lot: null,
        taken,
        account: { memberId: fromMemberId, balance: senderAfter, pending: sender.pending },
        lifetimeDelta: 0,
      });
      // The credit shows the soonest expiry of what it received (its lots hold each piece's own).
      const credit = await this.repository.book(manager, {
        entry: entry(toMemberId, points, receiverAfter, fromMemberId, 'Points received from another member', lots[0]?.expiresAt ?? null),
        key: null,
        lot: null,
        taken: [],
        account: { memberId: toMemberId, balance: receiverAfter, pending: receiver.pending },
        lifetimeDelta: 0,
      });
      await this.repository.openLotsOf(manager, credit, lots);
      events.push(balanceChanged(debit, -points, 0, senderAfter), balanceChanged(credit, points, 0, receiverAfter));
      await appendOutbox(manager, events);
      await request.written?.(manager, { debit, credit });
      return { entry: debit, created: true };
    });
  }

  /** The same key again: the first result if the input is the same, IDEMPOTENCY_CONFLICT if not. */
  private async replay(manager: EntityManager, key: LedgerKey, hash: string): Promise<LedgerEntryEntity> {
    const existing = await this.replayed(manager, key, hash);
    if (!existing.entry) throw new IdempotencyConflictError();
    return existing.entry;
  }

  private async replayed(manager: EntityManager, key: LedgerKey, hash: string) {
    const existing = await this.repository.keyedOutcome(manager, key);
    if (!existing || existing.requestHash !== hash) throw new IdempotencyConflictError();
    if (existing.refusal) throw new DomainError(existing.refusal.code, existing.refusal.message, existing.refusal.field ?? undefined);
    return existing;
  }

  /** What a debit of `points` takes from the member's open lots: soonest expiry first. */
  private async lotsToDraw(manager: EntityManager, memberId: string, points: number): Promise<{ lotId: string; points: number }[]> {
    const { taken, short } = draw(await this.repository.openLots(manager, memberId), points);
    if (short > 0) throw new Error(`ledger invariant broken: lots of member ${memberId} do not cover its balance`);
    return taken;
  }

  /**
   * A return: takes back points an order earned, from the order's pending points first, then from
   * the spendable balance down to 0. One REVERSAL debit with the order id as reference (none when
   * nothing is left to take); what could not be taken is reported as unrecovered. The points leave
   * the member's tier qualification and lifetime total whether or not they could be taken back.
   */
  async reverseOrder(request: ReverseRequest): Promise<ReverseResult> {
    if (request.points < 1 || !Number.isInteger(request.points)) throw new Error('points must be a positive integer');
    const hash = requestFingerprint(['reverse-order', request.memberId, request.orderId, request.points]);
    const key: LedgerKey = { tenant: request.tenant, scope: request.scope, key: request.idempotencyKey };
    return this.db.transaction(async (manager): Promise<ReverseResult> => {
      if (!(await this.repository.claimKey(manager, key, hash))) {
        const existing = await this.replayed(manager, key, hash);
        const outcome = existing.outcome as { reversed: number; unrecovered: number } | null;
        if (!outcome) throw new IdempotencyConflictError();
        return { entry: existing.entry, reversed: outcome.reversed, unrecovered: outcome.unrecovered };
      }
      const events: OutgoingEvent[] = [];
      const account = await this.lockSettled(manager, request.tenant, request.memberId, events);
      const pendingLots = await this.repository.pendingLots(manager, request.memberId, request.orderId);
      const orderPending = pendingLots.reduce((sum, lot) => sum + lot.remaining, 0);
      const take = returnTake(request.points, orderPending, account.balance);
      const reversed = take.fromPending + take.fromBalance;
      const outcome = { reversed, unrecovered: take.unrecovered };
      let entry: LedgerEntryEntity | null = null;
      if (reversed > 0) {
        const balanceAfter = account.balance - take.fromBalance;
        const pendingAfter = account.pending - take.fromPending;
        const fromPending = draw(pendingLots, take.fromPending).taken;
        const fromBalance = draw(await this.repository.openLots(manager, request.memberId), take.fromBalance).taken;
        entry = await this.repository.book(manager, {
          entry: {
            tenant: request.tenant,
            memberId: request.memberId,
            type: 'REVERSAL',
            points: -reversed,
            balanceAfter,
            reason: 'Order returned',
            reference: request.orderId,
            source: request.source,
            idempotencyKey: request.idempotencyKey,
            expiresAt: null,
            pendingUntil: null,
            orderId: request.orderId,
          },
          key,
          lot: null,
          taken: [...fromPending, ...fromBalance],
          account: { memberId: request.memberId, balance: balanceAfter, pending: pendingAfter },
          lifetimeDelta: -request.points,
          outcome,
        });
        events.push(balanceChanged(entry, -take.fromBalance, -take.fromPending, balanceAfter));
      } else {
        await this.repository.updateAccount(manager, account, -request.points);
        await this.repository.attachEntry(manager, key, null, outcome);
      }
      await this.tiers.unearnOrder(manager, request.memberId, request.orderId, request.points);
      await appendOutbox(manager, events);
      await this.afterMove(manager, request.tenant, request.memberId);
      return { entry, ...outcome };
    });
  }

  /** Makes a member's pending points spendable now: one order's, or all of them. Returns the points activated. */
  /** `written`: runs in the same transaction with the points activated (the audit entry). */
  async activatePending(
    tenant: string,
    memberId: string,
    orderId: string | null,
    written?: (manager: EntityManager, points: number) => Promise<void>,
  ): Promise<number> {
    return this.db.transaction(async (manager) => {
      const events: OutgoingEvent[] = [];
      const account = await this.lockSettled(manager, tenant, memberId, events);
      const lots = await this.repository.pendingLots(manager, memberId, orderId);
      await this.settleAccounts(manager, [account], events, lots);
      await appendOutbox(manager, events);
      const points = lots.filter((lot) => !lot.expires).reduce((sum, lot) => sum + lot.remaining, 0);
      await written?.(manager, points);
      return points;
    });
  }

  /**
   * The maintenance of lots, in bounded batches: books pending points whose time is over and points
   * past their expiry for up to `batch` members per transaction. Accounts a move holds are skipped
   * (the move settles them itself), so replicas running this at once never book a lot twice and
   * never wait on earning; between batches it rests for `rest` of a batch's time, leaving the
   * machine to requests. `tenant`: one tenant's members (null: every tenant). Returns the points
   * activated and expired.
   */
  async settleDue(tenant: string | null, { batch = 100, rest = 1.0 } = {}): Promise<{ activated: number; expired: number }> {
    const total = { activated: 0, expired: 0 };
    for (;;) {
      const started = performance.now();
      const done = await this.db.transaction(async (manager) => {
        const accounts = await this.repository.lockDueAccounts(manager, batch, tenant);
        if (accounts.length === 0) return true;
        const events: OutgoingEvent[] = [];
        const lots = await this.repository.dueLots(manager, accounts.map((a) => a.memberId));
        const { activated, expired } = await this.settleAccounts(manager, accounts, events, lots);
        total.activated += activated;
        total.expired += expired;
        await appendOutbox(manager, events);
        return false;
      });
      if (done) return total;
      await restAfterBatch(started, rest);
    }
  }

  /** Sends the reminders that are due (POINTS_EXPIRING), each once, in batches. Returns how many. */
  async sendReminders(tenant: string | null, batch = 1000): Promise<number> {
    let sent = 0;
    for (;;) {
      const claimed = await this.db.transaction(async (manager) => {
        const due = await this.repository.claimDueReminders(manager, tenant, batch);
        await appendOutbox(
          manager,
          due.map((r) => ({
            type: 'POINTS_EXPIRING',
            tenant: r.tenant,
            key: r.member_id,
            payload: { memberId: r.member_id, lotId: r.lot_id, points: r.remaining, expiresAt: new Date(r.expires_at).toISOString(), daysBefore: r.days },
          })),
        );
        return due.length;
      });
      sent += claimed;
      if (claimed < batch) return sent;
    }
  }

  /**
   * Books what is due on locked accounts: `lots` (default: what is due on them now) activate and
   * expire by the lot rules. Expired points become one EXPIRE entry per member. Returns the accounts
   * as they now stand and the points activated and expired; appends the balance events to `events`.
   */
  private async settleAccounts(
    manager: EntityManager,
    accounts: LockedAccount[],
    events: OutgoingEvent[],
    given?: DueLot[],
  ): Promise<{ accounts: LockedAccount[]; activated: number; expired: number }> {
    const lots = given ?? (await this.repository.dueLots(manager, accounts.map((a) => a.memberId)));
    if (lots.length === 0) return { accounts, activated: 0, expired: 0 };
    const activatedIds = lots.filter((lot) => lot.activates).map((lot) => lot.id);
    await this.repository.activateLots(manager, activatedIds);
    const credits =
      activatedIds.length > 0
        ? await this.repository.entriesIn(manager, lots.filter((lot) => lot.activates).map((lot) => lot.entryId))
        : new Map<string, LedgerEntryEntity>();
    const result = { accounts: [] as LockedAccount[], activated: 0, expired: 0 };
    const lotsOf = new Map<string, DueLot[]>();
    for (const lot of lots) {
      const list = lotsOf.get(lot.memberId);
      if (list) list.push(lot);
      else lotsOf.set(lot.memberId, [lot]);
    }
    // The batch's writes are gathered and made with a few statements, whatever its size.
    const expiries: { entry: NewEntry; lots: DueLot[]; fromBalance: number; fromPending: number }[] = [];
    const changed: LockedAccount[] = [];
    for (const account of accounts) {
      const outcome = settle(lotsOf.get(account.memberId) ?? []);
      result.activated += outcome.activatedPoints;
      let { balance, pending } = account;
      for (const lot of outcome.activated) {
        balance += lot.remaining;
        pending -= lot.remaining;
        // The activation has no entry of its own: the event carries the credit that became spendable.
        events.push(balanceChanged(credits.get(lot.entryId)!, lot.remaining, -lot.remaining, balance));
      }
      const expiredPoints = outcome.expiredFromBalance + outcome.expiredFromPending;
      result.expired += expiredPoints;
      if (expiredPoints > 0) {
        balance -= outcome.expiredFromBalance;
        pending -= outcome.expiredFromPending;
        expiries.push({
          entry: {
            tenant: account.tenant,
            memberId: account.memberId,
            type: 'EXPIRE',
            points: -expiredPoints,
            balanceAfter: balance,
            reason: 'Points expired',
            reference: null,
            source: 'system:expiry',
            idempotencyKey: `expire:${randomUUID()}`,
            expiresAt: null,
            pendingUntil: null,
            orderId: null,
          },
          lots: outcome.expired,
          fromBalance: outcome.expiredFromBalance,
          fromPending: outcome.expiredFromPending,
        });
      }
      const settled = { ...account, balance, pending };
      if (outcome.activated.length > 0 || expiredPoints > 0) changed.push(settled);
      result.accounts.push(settled);
    }
    const entries = await this.repository.insertEntries(manager, expiries.map((e) => e.entry));
    const allocations = [];
    for (const expiry of expiries) {
      const entry = entries.get(expiry.entry.idempotencyKey)!;
      for (const lot of expiry.lots) allocations.push({ entryId: entry.id, lotId: lot.id, points: lot.remaining });
      events.push(balanceChanged(entry, -expiry.fromBalance, -expiry.fromPending, entry.balanceAfter));
    }
    await this.repository.allocateMany(manager, allocations);
    await this.repository.updateAccounts(manager, changed);
    return result;
  }

  findByKey(tenant: string, scope: string, key: string): Promise<LedgerEntryEntity | null> {
    return this.repository.findByKey({ tenant, scope, key });
  }

  /** The tenant's points liability now: spendable, pending, and what expires within each of `withinDays`. */
  async liability(tenant: string, withinDays: readonly number[]): Promise<PointsLiabilityFigures> {
    if (withinDays.length > 10) throw new BadInputError('expiringWithinDays', 'expiringWithinDays takes at most 10 day counts');
    if (withinDays.some((days) => days < 1 || days > 3650)) throw new BadInputError('expiringWithinDays', 'each of expiringWithinDays must be between 1 and 3650');
    const { spendable, pending, expiring } = await this.repository.liability(tenant, withinDays);
    return { spendable, pending, expiring: withinDays.map((days, i) => ({ withinDays: days, points: expiring[i] ?? 0 })) };
  }

  /** The sum of the tenant's booked balances (pending points excluded): what analytics' pointsOutstanding must equal. */
  outstanding(tenant: string): Promise<number> {
    return this.repository.outstanding(tenant);
  }
}

/** The balance event of an entry: `delta` is what the balance moved, `pendingDelta` what pending points moved. */
function balanceChanged(entry: LedgerEntryEntity, delta: number, pendingDelta: number, balance: number): OutgoingEvent {
  return {
    type: 'POINTS_BALANCE_CHANGED',
    tenant: entry.tenant,
    key: entry.memberId,
    // The whole entry: subscribers read the transaction from the event, without a fetch.
    payload: { memberId: entry.memberId, balance, delta, pendingDelta, transaction: toLedgerTransaction(entry) },
  };
}
