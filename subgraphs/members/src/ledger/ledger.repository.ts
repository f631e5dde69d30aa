import type { DataSource, EntityManager } from 'typeorm';
import type { ErrorCode } from '@loyalty/kit';
import { PointAccountEntity, type EntryType, type LedgerEntryEntity } from './ledger.entity';

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
});

/** Where an idempotency key stands: what it was claimed for, and what it produced (or refused). */
export interface KeyedOutcome {
  requestHash: string;
  refusal: { code: ErrorCode; message: string; field: string | null } | null;
  entry: LedgerEntryEntity | null;
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
}

/** A lot a debit may draw on, in the order debits draw them. */
export interface OpenLot {
  id: string;
  remaining: number;
}

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

  async attachEntry(manager: EntityManager, key: LedgerKey, entryId: string): Promise<void> {
    await manager.query('UPDATE idempotency_keys SET entry_id = $4 WHERE tenant = $1 AND scope = $2 AND key = $3', [
      key.tenant,
      key.scope,
      key.key,
      entryId,
    ]);
  }

  async keyedOutcome(manager: EntityManager, key: LedgerKey): Promise<KeyedOutcome | null> {
    const [row] = await manager.query<(EntryRow & { key_hash: string; refusal: KeyedOutcome['refusal'] })[]>(
      `SELECT k.request_hash AS key_hash, k.refusal, e.* FROM idempotency_keys k LEFT JOIN ledger_entries e ON e.id = k.entry_id
       WHERE k.tenant = $1 AND k.scope = $2 AND k.key = $3`,
      [key.tenant, key.scope, key.key],
    );
    if (!row) return null;
    return { requestHash: row.key_hash, refusal: row.refusal, entry: row.id ? toEntry(row) : null };
  }

  /** Locks the member's account row: every move of one member is serialised here, across replicas. */
  async lockAccount(manager: EntityManager, tenant: string, memberId: string): Promise<{ balance: number; lifetimeEarned: number } | null> {
    const [account] = await manager.query<{ balance: number; lifetime_earned: number }[]>(
      'SELECT balance, lifetime_earned FROM point_accounts WHERE member_id = $1 AND tenant = $2 FOR UPDATE',
      [memberId, tenant],
    );
    return account ? { balance: account.balance, lifetimeEarned: account.lifetime_earned } : null;
  }

  async insertEntry(manager: EntityManager, entry: NewEntry): Promise<LedgerEntryEntity> {
    const [row] = await manager.query<EntryRow[]>(
      `INSERT INTO ledger_entries
         (tenant, member_id, type, points, balance_after, reason, reference, source, idempotency_key, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING *`,
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
      ],
    );
    return toEntry(row!);
  }

  /** A credit's lot: what debits draw on, soonest expiry first. */
  async insertLot(manager: EntityManager, entry: LedgerEntryEntity): Promise<void> {
    await manager.query(
      `INSERT INTO point_lots (tenant, member_id, entry_id, points, remaining, expires_at)
       VALUES ($1, $2, $3, $4, $4, $5)`,
      [entry.tenant, entry.memberId, entry.id, entry.points, entry.expiresAt],
    );
  }

  /** The member's spendable lots in the order debits draw them: soonest expiry first, then oldest. */
  openLots(manager: EntityManager, memberId: string): Promise<OpenLot[]> {
    return manager.query<OpenLot[]>(
      `SELECT id, remaining FROM point_lots
       WHERE member_id = $1 AND remaining > 0 AND (pending_until IS NULL OR pending_until <= now())
       ORDER BY expires_at ASC NULLS LAST, created_at, id`,
      [memberId],
    );
  }

  /** Takes points out of lots for the entry, and records which lots and how much. */
  async allocate(manager: EntityManager, entryId: string, taken: readonly { lotId: string; points: number }[]): Promise<void> {
    const lotIds = taken.map((t) => t.lotId);
    const points = taken.map((t) => t.points);
    await manager.query(
      `UPDATE point_lots l SET remaining = l.remaining - t.points
       FROM unnest($1::uuid[], $2::int[]) AS t(id, points) WHERE l.id = t.id`,
      [lotIds, points],
    );
    await manager.query(
      `INSERT INTO lot_allocations (entry_id, lot_id, points)
       SELECT $1, * FROM unnest($2::uuid[], $3::int[])`,
      [entryId, lotIds, points],
    );
  }

  async updateAccount(manager: EntityManager, memberId: string, balance: number, lifetimeAdded: number): Promise<void> {
    await manager.query(
      `UPDATE point_accounts SET balance = $2, lifetime_earned = lifetime_earned + $3, updated_at = now()
       WHERE member_id = $1`,
      [memberId, balance, lifetimeAdded],
    );
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

  async accounts(tenant: string, memberIds: readonly string[]): Promise<(PointAccountEntity | null)[]> {
    const rows = await this.db
      .getRepository(PointAccountEntity)
      .createQueryBuilder('a')
      .where('a.tenant = :tenant AND a.member_id = ANY(:memberIds)', { tenant, memberIds })
      .getMany();
    const byId = new Map(rows.map((row) => [row.memberId, row]));
    return memberIds.map((id) => byId.get(id) ?? null);
  }

  /**
   * Spendable points in lots that expire within `days`, per member. There is no lower bound: a lot
   * whose expiry has already passed still counts (nothing expires lots yet), until the points
   * lifecycle moves such lots out with EXPIRE entries.
   */
  async expiring(tenant: string, memberIds: readonly string[], days: number): Promise<Map<string, number>> {
    const rows = await this.db.query<{ member_id: string; points: number }[]>(
      `SELECT member_id, sum(remaining)::int AS points FROM point_lots
       WHERE tenant = $1 AND member_id = ANY($2) AND remaining > 0
         AND expires_at IS NOT NULL AND expires_at <= now() + make_interval(days => $3)
       GROUP BY member_id`,
      [tenant, memberIds, days],
    );
    return new Map(rows.map((row) => [row.member_id, row.points]));
  }

  /** The newest `first + 1` entries of each member (older than `beforeSeq`), in one statement. */
  async latestEntries(
    tenant: string,
    memberIds: readonly string[],
    first: number,
    beforeSeq?: string,
  ): Promise<Map<string, LedgerEntryEntity[]>> {
    const rows = await this.db.query<EntryRow[]>(
      `SELECT * FROM (
         SELECT e.*, row_number() OVER (PARTITION BY e.member_id ORDER BY e.seq DESC) AS n
         FROM ledger_entries e
         WHERE e.tenant = $1 AND e.member_id = ANY($2) AND ($4::bigint IS NULL OR e.seq < $4::bigint)
       ) ranked WHERE n <= $3 ORDER BY member_id, seq DESC`,
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

  async entryCounts(tenant: string, memberIds: readonly string[]): Promise<Map<string, number>> {
    const rows = await this.db.query<{ member_id: string; n: number }[]>(
      'SELECT member_id, count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND member_id = ANY($2) GROUP BY member_id',
      [tenant, memberIds],
    );
    return new Map(rows.map((row) => [row.member_id, row.n]));
  }

  async entriesByIds(tenant: string, ids: readonly string[]): Promise<(LedgerEntryEntity | null)[]> {
    const rows = await this.db.query<EntryRow[]>('SELECT * FROM ledger_entries WHERE tenant = $1 AND id = ANY($2)', [tenant, ids]);
    const byId = new Map(rows.map((row) => [row.id, toEntry(row)]));
    return ids.map((id) => byId.get(id) ?? null);
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
