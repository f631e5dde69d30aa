import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { createLedgerClient } from '@loyalty/kit';
import { newTenant, ok, serviceSecret, sql, subgraphUrls } from './support/system';
import { waitFor } from './support/processes';

interface BusRow {
  source_id: string;
  type: string;
  key: string;
  payload: { balance?: number; delta?: number; transaction?: { id: string }; tierId?: string; previousTierId?: string | null };
}

async function busEvents(tenant: string, expected: number): Promise<BusRow[]> {
  // The relay runs on NOTIFY; poll for it instead of sleeping a fixed time.
  let seen = 0;
  return waitFor(
    () => `${expected} bus events of tenant ${tenant} (saw ${seen})`,
    async () => {
      const rows = await sql<BusRow>('events', 'SELECT source_id, type, key, payload FROM bus_events WHERE tenant = $1 ORDER BY position', [tenant]);
      seen = rows.length;
      return rows.length >= expected && rows;
    },
  );
}

describe('outbox and event bus', () => {
  it('publishes every balance and tier change exactly once, in ledger order per member', async () => {
    const t = await newTenant();
    await ok('mutation { upsertTier(input: { name: "Silver", rank: 1, qualifyingPoints: 300, earnMultiplier: 1.5 }) { id } }', {}, { token: t.admin });
    const [a, b] = [await t.enroll(), await t.enroll()];
    const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'test' });
    // Interleave two members' changes concurrently, with some replays that must not emit again.
    const key = randomUUID();
    await Promise.all([
      ...Array.from({ length: 10 }, () => t.adjust(a!, 7)),
      ...Array.from({ length: 10 }, () => t.adjust(b!, 3)),
      t.adjust(a!, 5, key),
      t.adjust(a!, 5, key),
      ledger.credit({ tenant: t.tenant, memberId: b!, points: 400, type: 'EARN', idempotencyKey: 'earn-1', reference: 'order-1' }),
    ]);
    await t.adjust(a!, -50);

    const entries = await sql<{ id: string; member_id: string; balance_after: number }>(
      'members',
      'SELECT id, member_id, balance_after FROM ledger_entries WHERE tenant = $1 ORDER BY seq',
      [t.tenant],
    );
    assert.equal(entries.length, 23);
    const events = await busEvents(t.tenant, entries.length + 3);
    const balanceEvents = events.filter((e) => e.type === 'POINTS_BALANCE_CHANGED');
    assert.equal(balanceEvents.length, entries.length, 'one event per ledger entry');
    assert.equal(new Set(events.map((e) => e.source_id)).size, events.length, 'no event twice');
    for (const member of [a!, b!]) {
      const fromLedger = entries.filter((e) => e.member_id === member).map((e) => [e.id, e.balance_after]);
      const fromBus = balanceEvents.filter((e) => e.key === member).map((e) => [e.payload.transaction?.id, e.payload.balance]);
      assert.deepEqual(fromBus, fromLedger, 'same order as the ledger');
    }
    const tierEvents = events.filter((e) => e.type === 'TIER_CHANGED');
    assert.equal(tierEvents.length, 1);
    assert.equal(tierEvents[0]!.key, b);
    assert.equal(events.filter((e) => e.type === 'MEMBER_ENROLLED').length, 2);
    // Everything published was marked, so a restarted relay publishes nothing again.
    const pending = await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM outbox WHERE tenant = $1 AND published_at IS NULL', [t.tenant]);
    assert.equal(pending[0]!.n, 0);
  });
});
