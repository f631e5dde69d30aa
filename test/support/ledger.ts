import assert from 'node:assert/strict';
import { sql } from './system';

/**
 * The ledger's invariants for one member: entries sum to balance + pending; open lots hold exactly
 * that; no lot gives more than it had; every lot's allocations and remainder add up to its points;
 * the balance is never negative. With `expected`, the balance and pending points too.
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
  assert.equal(row.negative, 0);
  assert.ok(row.balance >= 0);
  if (expected) assert.deepEqual({ balance: row.balance, pending: row.pending }, expected);
}

