import type { EntityManager } from 'typeorm';
import type { SentToday, MemberStatus } from './transfer.rule';

/** The reads a transfer's rules make inside its transaction. Every query is scoped to the tenant. */
export class TransferRepository {
  /** The members' statuses by id; a member of another tenant (or none) is missing. */
  async statuses(manager: EntityManager, tenant: string, ids: readonly string[]): Promise<Map<string, MemberStatus>> {
    const rows = await manager.query<{ id: string; status: MemberStatus }[]>('SELECT id, status FROM members WHERE tenant = $1 AND id = ANY($2)', [tenant, ids]);
    return new Map(rows.map((row) => [row.id, row.status]));
  }

  /**
   * What the member sent to others from `since` on: its TRANSFER debits, read from their own index
   * (a day's transfers, never the member's history). Called under the sender's account lock, so no
   * transfer of the member commits meanwhile.
   */
  async sentSince(manager: EntityManager, tenant: string, memberId: string, since: Date): Promise<SentToday> {
    const [row] = await manager.query<{ points: number; transfers: number }[]>(
      `SELECT COALESCE(-sum(points), 0)::int AS points, count(*)::int AS transfers FROM ledger_entries
       WHERE member_id = $1 AND tenant = $2 AND type = 'TRANSFER' AND points < 0 AND created_at >= $3`,
      [memberId, tenant, since],
    );
    // An aggregate without GROUP BY: always one row.
    return { points: row!.points, transfers: row!.transfers };
  }
}
