import assert from 'node:assert/strict';
import { sql } from './system';

/**
 * The ledger's invariants for one member: entries sum to balance + pending; open lots hold exactly
 * that; no lot gives more than it had; every lot's allocations and remainder add up to its points;
 * every allocation joins an entry and a lot of the member (what foreign keys would check, and
 * stricter); the balance is never negative. With `expected`, the balance and pending points too.
 */
export async function assertLedger(memberId: string, expected?: { balance: number; pending: number }) {
  const [row] = await sql<{ balance: number; pending: number; entries: number; lots: number; broken: number; negative: number }>(
    'members',
    `SELECT a.balance, a.pending,
            (SELECT COALESCE(sum(points), 0)::int FROM ledger_entries WHERE member_id = a.member_id) AS entries,
            (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots WHERE member_id = a.member_id) AS lots,
            (SELECT count(*)::int FROM point_lots l WHERE l.member_id = a.member_id
               AND l.points <> l.remaining + COALESCE((SELECT sum(points) FROM lot_allocations WHERE lot_id = l.id), 0)) AS broken,
            (SELECT count(*)::int FROM point_lots WHERE member_id = a.member_id AND remaining < 0) AS negative
     FROM point_accounts a WHERE a.member_id = $1`,
    [memberId],
  );
  assert.ok(row, 'the member has an account');
  assert.equal(row.entries, row.balance + row.pending, 'entries sum to balance + pending');
  assert.equal(row.lots, row.balance + row.pending, 'open lots hold balance + pending');
  assert.equal(row.broken, 0, 'every lot adds up');
  assert.deepEqual(await strayAllocations({ memberId }), [], 'every allocation joins an entry and a lot of the member');
  assert.equal(row.negative, 0);
  assert.ok(row.balance >= 0);
  if (expected) assert.deepEqual({ balance: row.balance, pending: row.pending }, expected);
}


/**
 * Allocations of a tenant's (or one member's) entries or lots that do not join an entry and a lot
 * of one member (what foreign keys would catch, and stricter): empty when the ledger is whole.
 */
export function strayAllocations(of: { tenant: string } | { memberId: string }) {
  const [column, value] = 'tenant' in of ? ['tenant', of.tenant] : ['member_id', of.memberId];
  return sql<{ entry_id: string; lot_id: string }>(
    'members',
    `SELECT la.entry_id, la.lot_id FROM lot_allocations la
     LEFT JOIN ledger_entries e ON e.id = la.entry_id
     LEFT JOIN point_lots l ON l.id = la.lot_id
     WHERE (e.${column} = $1 OR l.${column} = $1) AND (e.id IS NULL OR l.id IS NULL OR e.member_id <> l.member_id)`,
    [value],
  );
}
