import type { DataSource, EntityManager } from 'typeorm';
import { inKeyOrder, type ErrorCode } from '@loyalty/kit';
import type { EntryType, LedgerEntryEntity, PointAccountEntity } from './ledger.entity';
import type { DueLot, InheritedLot, SpendableLot } from './lots.rule';

/** A ledger_entries row as PostgreSQL returns it. */
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
  pending_until: Date | null;
  order_id: string | null;
}

const toEntry = (row: EntryRow): LedgerEntryEntity => ({
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
  pendingUntil: row.pending_until,
  orderId: row.order_id,
});

/** Where an idempotency key stands: what it was claimed for, and what it produced (or refused). */
export interface KeyedOutcome {
  requestHash: string;
  refusal: { code: ErrorCode; message: string; field: string | null } | null;
  entry: LedgerEntryEntity | null;
  /** What a key produced besides its entry (a return: its reversed and unrecovered points). */
  outcome: Record<string, unknown> | null;
}

/** An idempotency key of the ledger: keys are namespaced by scope (the public API, or a service). */
export interface LedgerKey {
  tenant: string;
  scope: string;
  key: string;
}

export interface NewEntry {
  tenant: string;
  memberId: string;
  type: EntryType;
  points: number;
  balanceAfter: number;
  reason: string | null;
  reference: string | null;
  source: string;
  idempotencyKey: string;
  expiresAt: Date | null;
  pendingUntil: Date | null;
  orderId: string | null;
}

/** A member's account under its lock. */
export interface LockedAccount {
  memberId: string;
  tenant: string;
  balance: number;
  pending: number;
  lifetimeEarned: number;
  /** The member was erased: the account takes no new moves (its points stay, for exact sums). */
  closed: boolean;
}

/**
 * Spendable points of the account `a` (point_accounts) at read time: the booked balance less lots
 * whose expiry has passed but that no job has booked yet. Every read of a balance uses it.
 */
export const SPENDABLE_BALANCE_SQL = (a: string) => `(${a}.balance - COALESCE((
  SELECT sum(l.remaining) FROM point_lots l
  WHERE l.member_id = ${a}.member_id AND l.remaining > 0 AND l.pending_until IS NULL AND l.expires_at <= now()), 0))::int`;

// Statements used alone and inside LedgerRepository.book, with the placeholders (or expressions)
// of each caller, so every rule of them has one home.

/** Points the idempotency key at what it produced: its entry, and any other outcome (jsonb). */
const attachKeySql = (tenant: string, scope: string, key: string, entryId: string, outcome: string) =>
  `UPDATE idempotency_keys SET entry_id = ${entryId}, outcome = ${outcome}::jsonb WHERE tenant = ${tenant} AND scope = ${scope} AND key = ${key}`;

/**
 * Takes `points[i]` out of lot `ids[i]`. `l.id = ANY(ids)` as well as the join: the planner then
 * reaches the lots by their key, where a join on unnest alone is planned as a hash join over the
 * whole table once the batch is large (82 ms instead of 17 ms for a maintenance batch of 1,000
 * lots among 100,000).
 */
const takeFromLotsSql = (ids: string, points: string) =>
  `UPDATE point_lots l SET remaining = l.remaining - t.points
   FROM unnest(${ids}::uuid[], ${points}::int[]) AS t(id, points) WHERE l.id = t.id AND l.id = ANY(${ids}::uuid[])`;

/** An account's new balance and pending points; `lifetimeDelta` is added to lifetime_earned, never below 0. */
const updateAccountSql = (memberId: string, balance: string, pending: string, lifetimeDelta: string) =>
  `UPDATE point_accounts SET balance = ${balance}, pending = ${pending}, lifetime_earned = GREATEST(lifetime_earned + ${lifetimeDelta}::int, 0), updated_at = now()
   WHERE member_id = ${memberId}`;

/** Due lots read per member a maintenance batch asks for: members with more due lots fill it sooner. */
const DUE_WINDOW = 16;

/**
 * The ledger's SQL. Writes take the transaction's `manager` first: they only ever run inside the
 * move that LedgerService orchestrates. Reads for the API are single statements for a batch of
 * members (DataLoader batches).
 */
export class LedgerRepository {
  constructor(private readonly db: DataSource) {}

  // --- writes, inside a move ------------------------------------------------------------------

  /** Claims a key; false when it already exists (a concurrent twin waits here, then replays). */
  async claimKey(manager: EntityManager, key: LedgerKey, requestHash: string): Promise<boolean> {
    const claimed = await manager.query<{ key: string }[]>(
      `INSERT INTO idempotency_keys (tenant, scope, key, request_hash) VALUES ($1, $2, $3, $4)
       ON CONFLICT DO NOTHING RETURNING key`,
      [key.tenant, key.scope, key.key, requestHash],
    );
    return claimed.length > 0;
  }

  /** Keeps a refusal with its key: whoever asks again with it is refused the same way. */
  async refuseKey(manager: EntityManager, key: LedgerKey, refusal: KeyedOutcome['refusal']): Promise<void> {
    await manager.query('UPDATE idempotency_keys SET refusal = $4 WHERE tenant = $1 AND scope = $2 AND key = $3', [
      key.tenant,
      key.scope,
      key.key,
      JSON.stringify(refusal),
    ]);
  }

  /** Records what the key produced: its entry (null when it moved nothing) and any other outcome. */
  async attachEntry(manager: EntityManager, key: LedgerKey, entryId: string | null, outcome: Record<string, unknown> | null = null): Promise<void> {
    await manager.query(attachKeySql('$1', '$2', '$3', '$4', '$5'), [
      key.tenant,
      key.scope,
      key.key,
      entryId,
      outcome && JSON.stringify(outcome),
    ]);
  }

  async keyedOutcome(manager: EntityManager, key: LedgerKey): Promise<KeyedOutcome | null> {
    const [row] = await manager.query<(EntryRow & { key_hash: string; refusal: KeyedOutcome['refusal']; outcome: KeyedOutcome['outcome'] })[]>(
      `SELECT k.request_hash AS key_hash, k.refusal, k.outcome, e.* FROM idempotency_keys k LEFT JOIN ledger_entries e ON e.id = k.entry_id
       WHERE k.tenant = $1 AND k.scope = $2 AND k.key = $3`,
      [key.tenant, key.scope, key.key],
    );
    if (!row) return null;
    return { requestHash: row.key_hash, refusal: row.refusal, outcome: row.outcome, entry: row.id ? toEntry(row) : null };
  }

  /** Locks the member's account row: every move of one member is serialised here, across replicas. */
  async lockAccount(manager: EntityManager, tenant: string, memberId: string): Promise<LockedAccount | null> {
    const [account] = await this.lockAccounts(manager, `member_id = $1 AND tenant = $2`, [memberId, tenant]);
    return account ?? null;
  }

  /**
   * Locks the accounts of up to `limit` members that have lots due (expiry or activation), skipping
   * accounts another transaction holds: a maintenance run never waits on (or blocks) a member's
   * move, and replicas running it at once take disjoint members. The due lots are read in index
   * order up to a window (`DUE_WINDOW` per member asked for), never all of them: a batch costs the
   * same with 100 or 10,000,000 lots due.
   */
  lockDueAccounts(manager: EntityManager, limit: number, tenant: string | null): Promise<LockedAccount[]> {
    return this.lockAccounts(
      manager,
      // The members as an array, so their accounts are reached by key (a hash join over every
      // account was the plan for `IN (subquery)`).
      `member_id = ANY(ARRAY(
         SELECT DISTINCT member_id FROM (
           (SELECT member_id FROM point_lots WHERE remaining > 0 AND expires_at <= now() AND ($2::text IS NULL OR tenant = $2) LIMIT $1 * ${DUE_WINDOW})
           UNION ALL
           (SELECT member_id FROM point_lots WHERE remaining > 0 AND pending_until <= now() AND ($2::text IS NULL OR tenant = $2) LIMIT $1 * ${DUE_WINDOW})) due))
       LIMIT $1`,
      [limit, tenant],
      'SKIP LOCKED',
    );
  }

  private async lockAccounts(manager: EntityManager, where: string, params: unknown[], wait = ''): Promise<LockedAccount[]> {
    const rows = await manager.query<{ member_id: string; tenant: string; balance: number; pending: number; lifetime_earned: number; closed: boolean }[]>(
      `SELECT member_id, tenant, balance, pending, lifetime_earned, closed FROM point_accounts WHERE ${where} FOR UPDATE ${wait}`,
      params,
    );
    return rows.map((row) => ({
      memberId: row.member_id,
      tenant: row.tenant,
      balance: row.balance,
      pending: row.pending,
      lifetimeEarned: row.lifetime_earned,
      closed: row.closed,
    }));
  }

  /** The members' lots with something due now: pending time over, or expiry passed. */
  dueLots(manager: EntityManager, memberIds: readonly string[]): Promise<DueLot[]> {
    return manager.query<DueLot[]>(
      `SELECT id, member_id AS "memberId", entry_id AS "entryId", remaining,
              pending_until IS NOT NULL AS pending,
              COALESCE(pending_until <= now(), false) AS activates,
              COALESCE(expires_at <= now(), false) AS expires
       FROM point_lots
       WHERE member_id = ANY($1) AND remaining > 0 AND (pending_until <= now() OR expires_at <= now())
       ORDER BY member_id, created_at, id`,
      [memberIds],
    );
  }

  /** Pending lots of a member (of one order, or all), oldest first. */
  pendingLots(manager: EntityManager, memberId: string, orderId: string | null): Promise<DueLot[]> {
    return manager.query<DueLot[]>(
      `SELECT l.id, l.member_id AS "memberId", l.entry_id AS "entryId", l.remaining, true AS pending, true AS activates,
              COALESCE(l.expires_at <= now(), false) AS expires
       FROM point_lots l JOIN ledger_entries e ON e.id = l.entry_id
       WHERE l.member_id = $1 AND l.remaining > 0 AND l.pending_until IS NOT NULL AND ($2::text IS NULL OR e.order_id = $2)
       ORDER BY l.created_at, l.id`,
      [memberId, orderId],
    );
  }

  /** Pending lots become spendable. */
  async activateLots(manager: EntityManager, lotIds: readonly string[]): Promise<void> {
    if (lotIds.length > 0) await manager.query('UPDATE point_lots SET pending_until = NULL WHERE id = ANY($1)', [lotIds]);
  }

  /**
   * Claims up to `limit` reminders that are due: reminder day `d` of a spendable lot is due from `d`
   * calendar days (in the program's time zone) before its expiry until it expires. A claimed
   * reminder is recorded in lot_reminders, so it is returned once, whichever run claims it.
   */
  claimDueReminders(manager: EntityManager, tenant: string | null, limit: number) {
    return manager.query<{ lot_id: string; tenant: string; member_id: string; remaining: number; expires_at: Date; days: number }[]>(
      `WITH due AS (
         SELECT l.id AS lot_id, l.tenant, l.member_id, l.remaining, l.expires_at, d.days
         FROM programs p
         CROSS JOIN LATERAL unnest(p.reminder_days) AS d(days)
         JOIN point_lots l ON l.tenant = p.tenant AND l.remaining > 0 AND l.pending_until IS NULL
           AND l.expires_at > now() AND l.expires_at <= now() + make_interval(days => d.days + 1)
         WHERE ($1::text IS NULL OR p.tenant = $1)
           AND ((l.expires_at AT TIME ZONE p.time_zone) - make_interval(days => d.days)) AT TIME ZONE p.time_zone <= now()
           AND NOT EXISTS (SELECT 1 FROM lot_reminders r WHERE r.lot_id = l.id AND r.days = d.days)
         LIMIT $2),
       sent AS (
         INSERT INTO lot_reminders (lot_id, days) SELECT lot_id, days FROM due ON CONFLICT DO NOTHING RETURNING lot_id, days)
       SELECT due.* FROM due JOIN sent USING (lot_id, days)`,
      [tenant, limit],
    );
  }

  /** Under ROLLING expiry: every open rolling lot of the member now expires at `expiresAt`. */
  async extendRolling(manager: EntityManager, memberId: string, expiresAt: Date): Promise<void> {
    await manager.query('UPDATE point_lots SET expires_at = $2 WHERE member_id = $1 AND remaining > 0 AND rolling', [memberId, expiresAt]);
  }

  /**
   * A move's writes in one statement, so the account lock is held for one round trip instead of
   * four or five: the entry; the credit's lot (`lot`) or the lots a debit draws on (`taken`, each
   * recorded as an allocation); the account's new balance and pending points (`lifetimeDelta`
   * added to lifetime_earned, never below 0); and the idempotency key pointing at the entry, with
   * any other `outcome`. Returns the entry.
   */
  async book(
    manager: EntityManager,
    move: {
      entry: NewEntry;
      /** The key that now points at the entry; null: the entry is not the one its key answers with (a transfer's credit). */
      key: LedgerKey | null;
      lot: { rolling: boolean } | null;
      taken: readonly { lotId: string; points: number }[];
      account: Pick<LockedAccount, 'memberId' | 'balance' | 'pending'>;
      lifetimeDelta: number;
      outcome?: Record<string, unknown> | null;
    },
  ): Promise<LedgerEntryEntity> {
    const { entry, key, lot, taken, account } = move;
    const [row] = await manager.query<EntryRow[]>(
      `WITH e AS (
         INSERT INTO ledger_entries
           (tenant, member_id, type, points, balance_after, reason, reference, source, idempotency_key, expires_at, pending_until, order_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING *),
       lot AS (
         INSERT INTO point_lots (tenant, member_id, entry_id, points, remaining, expires_at, pending_until, rolling)
         SELECT tenant, member_id, id, points, points, expires_at, pending_until, $13::boolean FROM e WHERE $13::boolean IS NOT NULL),
       taken AS (${takeFromLotsSql('$14', '$15')}),
       allocated AS (
         INSERT INTO lot_allocations (entry_id, lot_id, points) SELECT e.id, t.id, t.points FROM e, unnest($14::uuid[], $15::int[]) AS t(id, points)),
       account AS (${updateAccountSql('$2', '$16', '$17', '$18')}),
       keyed AS (${attachKeySql('$19', '$20', '$21', '(SELECT id FROM e)', '$22')})
       SELECT * FROM e`,
      [
        entry.tenant,
        entry.memberId,
        entry.type,
        entry.points,
        entry.balanceAfter,
        entry.reason,
        entry.reference,
        entry.source,
        entry.idempotencyKey,
        entry.expiresAt,
        entry.pendingUntil,
        entry.orderId,
        lot ? lot.rolling : null,
        taken.map((t) => t.lotId),
        taken.map((t) => t.points),
        account.balance,
        account.pending,
        move.lifetimeDelta,
        key?.tenant ?? null,
        key?.scope ?? null,
        key?.key ?? null,
        move.outcome ? JSON.stringify(move.outcome) : null,
      ],
    );
    return toEntry(row!);
  }

  /**
   * Several entries in one statement (a maintenance batch's EXPIRE entries), returned by their
   * idempotency keys, which must be unique among them.
   */
  async insertEntries(manager: EntityManager, entries: readonly NewEntry[]): Promise<Map<string, LedgerEntryEntity>> {
    if (entries.length === 0) return new Map();
    const column = <K extends keyof NewEntry>(key: K) => entries.map((entry) => entry[key]);
    const rows = await manager.query<EntryRow[]>(
      `INSERT INTO ledger_entries
         (tenant, member_id, type, points, balance_after, reason, reference, source, idempotency_key, expires_at, pending_until, order_id)
       SELECT * FROM unnest($1::text[], $2::uuid[], $3::text[], $4::int[], $5::int[], $6::text[], $7::text[], $8::text[], $9::text[],
                            $10::timestamptz[], $11::timestamptz[], $12::text[])
       RETURNING *`,
      [
        column('tenant'),
        column('memberId'),
        column('type'),
        column('points'),
        column('balanceAfter'),
        column('reason'),
        column('reference'),
        column('source'),
        column('idempotencyKey'),
        column('expiresAt'),
        column('pendingUntil'),
        column('orderId'),
      ],
    );
    return new Map(rows.map((row) => [row.idempotency_key, toEntry(row)]));
  }

  /** The member's spendable lots in the order debits draw them: soonest expiry first, then oldest. */
  openLots(manager: EntityManager, memberId: string): Promise<SpendableLot[]> {
    return manager.query<SpendableLot[]>(
      `SELECT id, remaining, expires_at AS "expiresAt", rolling FROM point_lots
       WHERE member_id = $1 AND remaining > 0 AND pending_until IS NULL AND (expires_at IS NULL OR expires_at > now())
       ORDER BY expires_at ASC NULLS LAST, created_at, id`,
      [memberId],
    );
  }

  /** A credit's lots when they are not one lot of its own points (a transfer's: the sender's expiries, handed on). */
  async openLotsOf(manager: EntityManager, entry: LedgerEntryEntity, lots: readonly InheritedLot[]): Promise<void> {
    await manager.query(
      `INSERT INTO point_lots (tenant, member_id, entry_id, points, remaining, expires_at, rolling)
       SELECT $1, $2, $3, l.points, l.points, l.expires_at, l.rolling FROM unnest($4::int[], $5::timestamptz[], $6::boolean[]) AS l(points, expires_at, rolling)`,
      [entry.tenant, entry.memberId, entry.id, lots.map((l) => l.points), lots.map((l) => l.expiresAt), lots.map((l) => l.rolling)],
    );
  }

  /** Allocations of several entries at once: two statements, however many. */
  async allocateMany(manager: EntityManager, taken: readonly { entryId: string; lotId: string; points: number }[]): Promise<void> {
    if (taken.length === 0) return;
    const lotIds = taken.map((t) => t.lotId);
    const points = taken.map((t) => t.points);
    await manager.query(takeFromLotsSql('$1', '$2'), [lotIds, points]);
    await manager.query(
      `INSERT INTO lot_allocations (entry_id, lot_id, points)
       SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::int[])`,
      [taken.map((t) => t.entryId), lotIds, points],
    );
  }

  /** Writes an account's new balance and pending points; `lifetimeDelta` is added to lifetime_earned (never below 0). */
  async updateAccount(manager: EntityManager, account: Pick<LockedAccount, 'memberId' | 'balance' | 'pending'>, lifetimeDelta = 0): Promise<void> {
    await manager.query(updateAccountSql('$1', '$2', '$3', '$4'), [account.memberId, account.balance, account.pending, lifetimeDelta]);
  }

  /** Several accounts' new balance and pending points, in one statement. */
  async updateAccounts(manager: EntityManager, accounts: readonly Pick<LockedAccount, 'memberId' | 'balance' | 'pending'>[]): Promise<void> {
    if (accounts.length === 0) return;
    await manager.query(
      `UPDATE point_accounts a SET balance = v.balance, pending = v.pending, updated_at = now()
       FROM unnest($1::uuid[], $2::int[], $3::int[]) AS v(member_id, balance, pending)
       WHERE a.member_id = v.member_id AND a.member_id = ANY($1)`, // reached by key, as in takeFromLotsSql
      [accounts.map((a) => a.memberId), accounts.map((a) => a.balance), accounts.map((a) => a.pending)],
    );
  }

  /** The entries `ids` inside a move (the credits of lots that activate). */
  async entriesIn(manager: EntityManager, ids: readonly string[]): Promise<Map<string, LedgerEntryEntity>> {
    const rows = await manager.query<EntryRow[]>('SELECT * FROM ledger_entries WHERE id = ANY($1)', [ids]);
    return new Map(rows.map((row) => [row.id, toEntry(row)]));
  }

  // --- reads ----------------------------------------------------------------------------------

  async findByKey(key: LedgerKey): Promise<LedgerEntryEntity | null> {
    const [row] = await this.db.query<EntryRow[]>(
      `SELECT e.* FROM idempotency_keys k JOIN ledger_entries e ON e.id = k.entry_id
       WHERE k.tenant = $1 AND k.scope = $2 AND k.key = $3`,
      [key.tenant, key.scope, key.key],
    );
    return row ? toEntry(row) : null;
  }

  /** Accounts as the API shows them: the balance is what is spendable now (SPENDABLE_BALANCE_SQL). */
  async accounts(tenant: string, memberIds: readonly string[]): Promise<(PointAccountEntity | null)[]> {
    const rows = await this.db.query<{ member_id: string; tenant: string; balance: number; pending: number; lifetime_earned: number }[]>(
      `SELECT a.member_id, a.tenant, ${SPENDABLE_BALANCE_SQL('a')} AS balance, a.pending, a.lifetime_earned
       FROM point_accounts a WHERE a.tenant = $1 AND a.member_id = ANY($2)`,
      [tenant, memberIds],
    );
    const accounts = rows.map((row) => ({ memberId: row.member_id, tenant: row.tenant, balance: row.balance, pending: row.pending, lifetimeEarned: row.lifetime_earned }));
    return inKeyOrder(memberIds, accounts, (account) => account.memberId);
  }

  /** Spendable points in lots that expire after now and within `days`, per member. */
  async expiring(tenant: string, memberIds: readonly string[], days: number): Promise<Map<string, number>> {
    const rows = await this.db.query<{ member_id: string; points: number }[]>(
      `SELECT member_id, sum(remaining)::int AS points FROM point_lots
       WHERE tenant = $1 AND member_id = ANY($2) AND remaining > 0 AND pending_until IS NULL
         AND expires_at > now() AND expires_at <= now() + make_interval(days => $3)
       GROUP BY member_id`,
      [tenant, memberIds, days],
    );
    return new Map(rows.map((row) => [row.member_id, row.points]));
  }

  /** Per member, the next instant some of its spendable points expire, and how many expire then. */
  async nextExpiry(tenant: string, memberIds: readonly string[]): Promise<Map<string, { points: number; expiresAt: Date }>> {
    const rows = await this.db.query<{ member_id: string; points: number; expires_at: Date }[]>(
      // The soonest expiry straight from the open-lots index, then the lots of that instant: the
      // cost does not grow with the member's other lots.
      `SELECT m.id AS member_id, n.expires_at,
              (SELECT sum(l.remaining)::int FROM point_lots l
               WHERE l.member_id = m.id AND l.remaining > 0 AND l.pending_until IS NULL AND l.expires_at = n.expires_at) AS points
       FROM unnest($2::uuid[]) AS m(id)
       CROSS JOIN LATERAL (
         SELECT expires_at FROM point_lots
         WHERE member_id = m.id AND tenant = $1 AND remaining > 0 AND pending_until IS NULL AND expires_at > now()
         ORDER BY expires_at LIMIT 1) n`,
      [tenant, memberIds],
    );
    return new Map(rows.map((row) => [row.member_id, { points: row.points, expiresAt: row.expires_at }]));
  }

  /** The newest `first + 1` entries of each member (older than `beforeSeq`), in one statement. */
  async latestEntries(
    tenant: string,
    memberIds: readonly string[],
    first: number,
    beforeSeq?: string,
  ): Promise<Map<string, LedgerEntryEntity[]>> {
    const rows = await this.db.query<EntryRow[]>(
      // Per member, the newest entries straight from the (member_id, seq DESC) index: the cost is
      // that of one page, however long the member's history.
      `SELECT e.* FROM unnest($2::uuid[]) AS m(id)
       CROSS JOIN LATERAL (
         SELECT * FROM ledger_entries e
         WHERE e.member_id = m.id AND e.tenant = $1 AND ($4::bigint IS NULL OR e.seq < $4::bigint)
         ORDER BY e.seq DESC LIMIT $3) e
       ORDER BY e.member_id, e.seq DESC`,
      [tenant, memberIds, first + 1, beforeSeq ?? null],
    );
    const byMember = new Map<string, LedgerEntryEntity[]>();
    for (const row of rows) {
      const list = byMember.get(row.member_id) ?? [];
      list.push(toEntry(row));
      byMember.set(row.member_id, list);
    }
    return byMember;
  }

  /** Entries per member, from the account's counter (kept by a trigger on ledger_entries). */
  async entryCounts(tenant: string, memberIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ member_id: string; n: number }[]>(
      'SELECT member_id, entries AS n FROM point_accounts WHERE tenant = $1 AND member_id = ANY($2)',
      [tenant, memberIds],
    );
    return new Map(rows.map((row) => [row.member_id, row.n]));
  }

  async entriesByIds(tenant: string, ids: readonly string[]): Promise<(LedgerEntryEntity | null)[]> {
    const rows = await this.db.query<EntryRow[]>('SELECT * FROM ledger_entries WHERE tenant = $1 AND id = ANY($2)', [tenant, ids]);
    return inKeyOrder(ids, rows.map(toEntry), (entry) => entry.id);
  }

  /**
   * The tenant's points liability now, read from the lots in one statement: spendable points
   * (expired ones excluded even before the job books them), pending points, and the spendable
   * points that expire within each of `withinDays` days.
   */
  async liability(tenant: string, withinDays: readonly number[]): Promise<{ spendable: number; pending: number; expiring: number[] }> {
    const [row] = await this.db.query<{ spendable: string; pending: string; expiring: string[] }[]>(
      `WITH open AS (
         SELECT remaining, expires_at, pending_until FROM point_lots WHERE tenant = $1 AND remaining > 0)
       SELECT
         (SELECT COALESCE(sum(remaining), 0) FROM open WHERE pending_until IS NULL AND (expires_at IS NULL OR expires_at > now()))::bigint AS spendable,
         (SELECT COALESCE(sum(remaining), 0) FROM open WHERE pending_until IS NOT NULL)::bigint AS pending,
         ARRAY(
           SELECT (SELECT COALESCE(sum(remaining), 0) FROM open
                   WHERE pending_until IS NULL AND expires_at > now() AND expires_at <= now() + make_interval(days => d.days))::bigint
           FROM unnest($2::int[]) WITH ORDINALITY AS d(days, n) ORDER BY d.n) AS expiring`,
      [tenant, withinDays],
    );
    // Aggregates without GROUP BY: always one row.
    const r = row!;
    return { spendable: Number(r.spendable), pending: Number(r.pending), expiring: r.expiring.map(Number) };
  }

  /** The sum of a tenant's balances: many members' balances pass 32 bits together. */
  async outstanding(tenant: string): Promise<number> {
    const [row] = await this.db.query<{ points: string }[]>(
      'SELECT COALESCE(sum(balance), 0)::bigint AS points FROM point_accounts WHERE tenant = $1',
      [tenant],
    );
    return Number(row?.points ?? 0);
  }
}
