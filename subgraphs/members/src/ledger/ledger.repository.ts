import type { DataSource } from 'typeorm';
import { PointAccountEntity, type LedgerEntryEntity } from './ledger.entity';
import { toEntry } from './ledger.service';

/** Reads of the ledger, each a single statement for a batch of members. */
export class LedgerRepository {
  constructor(private readonly db: DataSource) {}

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
    const rows = (await this.db.query(
      `SELECT member_id, sum(remaining)::int AS points FROM point_lots
       WHERE tenant = $1 AND member_id = ANY($2) AND remaining > 0
         AND expires_at IS NOT NULL AND expires_at <= now() + make_interval(days => $3)
       GROUP BY member_id`,
      [tenant, memberIds, days],
    )) as { member_id: string; points: number }[];
    return new Map(rows.map((row) => [row.member_id, row.points]));
  }

  /** The newest `first + 1` entries of each member (older than `beforeSeq`), in one statement. */
  async latestEntries(
    tenant: string,
    memberIds: readonly string[],
    first: number,
    beforeSeq?: string,
  ): Promise<Map<string, LedgerEntryEntity[]>> {
    const rows = (await this.db.query(
      `SELECT * FROM (
         SELECT e.*, row_number() OVER (PARTITION BY e.member_id ORDER BY e.seq DESC) AS n
         FROM ledger_entries e
         WHERE e.tenant = $1 AND e.member_id = ANY($2) AND ($4::bigint IS NULL OR e.seq < $4::bigint)
       ) ranked WHERE n <= $3 ORDER BY member_id, seq DESC`,
      [tenant, memberIds, first + 1, beforeSeq ?? null],
    )) as Parameters<typeof toEntry>[0][];
    const byMember = new Map<string, LedgerEntryEntity[]>();
    for (const row of rows) {
      const list = byMember.get(row.member_id) ?? [];
      list.push(toEntry(row));
      byMember.set(row.member_id, list);
    }
    return byMember;
  }

  async entryCounts(tenant: string, memberIds: readonly string[]): Promise<Map<string, number>> {
    const rows = (await this.db.query(
      'SELECT member_id, count(*)::int AS n FROM ledger_entries WHERE tenant = $1 AND member_id = ANY($2) GROUP BY member_id',
      [tenant, memberIds],
    )) as { member_id: string; n: number }[];
    return new Map(rows.map((row) => [row.member_id, row.n]));
  }

  async entriesByIds(tenant: string, ids: readonly string[]): Promise<(LedgerEntryEntity | null)[]> {
    const rows = (await this.db.query('SELECT * FROM ledger_entries WHERE tenant = $1 AND id = ANY($2)', [tenant, ids])) as Parameters<
      typeof toEntry
    >[0][];
    const byId = new Map(rows.map((row) => [row.id, toEntry(row)]));
    return ids.map((id) => byId.get(id) ?? null);
  }

  /** The sum of a tenant's balances: many members' balances pass 32 bits together. */
  async outstanding(tenant: string): Promise<number> {
    const [row] = (await this.db.query('SELECT COALESCE(sum(balance), 0)::bigint AS points FROM point_accounts WHERE tenant = $1', [tenant])) as {
      points: string;
    }[];
    return Number(row?.points ?? 0);
  }
}
