import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { Client } from 'pg';
import { createLedgerClient } from '@loyalty/kit';
import { feed, registered, wsClient } from './support/subscriptions';
import { newTenant, ok, serviceSecret, sql, subgraphUrls } from './support/system';
import { waitFor } from './support/processes';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

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
      ...Array.from({ length: 10 }, () => t.adjust(a, 7)),
      ...Array.from({ length: 10 }, () => t.adjust(b, 3)),
      t.adjust(a, 5, key),
      t.adjust(a, 5, key),
      ledger.credit({ tenant: t.tenant, memberId: b, points: 400, type: 'EARN', idempotencyKey: 'earn-1', reference: 'order-1' }),
    ]);
    await t.adjust(a, -50);

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
    for (const member of [a, b]) {
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

  it('delivers an event whose publisher commits after later events were published (no gaps)', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const client = wsClient(t.admin);
    const held = new Client({ connectionString: databases.events });
    try {
      const events = feed<{ pointsBalanceChanged: { delta: number } }>(client, 'subscription($m: ID) { pointsBalanceChanged(memberId: $m) { delta } }', { m: member });
      await registered(1);
      // A publisher (as a relay would) that has inserted its event and not yet committed.
      await held.connect();
      await held.query('BEGIN');
      await held.query(
        `INSERT INTO bus_events (source, source_id, type, tenant, key, payload, occurred_at)
         VALUES ('test', $1, 'POINTS_BALANCE_CHANGED', $2, $3, $4, now())`,
        [randomUUID(), t.tenant, member, { memberId: member, balance: 1000, delta: 1000, transaction: { id: randomUUID(), type: 'ADJUST', points: 1000, balanceAfter: 1000, reference: null } }],
      );
      assert.equal((await t.adjust(member, 5)).errors, undefined);
      // The later event is either delivered already or its publisher waits for the open transaction.
      await waitFor('the adjustment to be delivered or its publisher to wait for the open one', async () => {
        if (events.results.length > 0) return true;
        const [{ n }] = (await sql<{ n: number }>(
          'events',
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock' AND wait_event = 'advisory'`,
        )) as [{ n: number }];
        return n > 0;
      });
      await held.query('COMMIT');

      assert.deepEqual((await events.until(2, 20_000)).map((e) => e.pointsBalanceChanged.delta), [1000, 5], 'both, in commit order');
      let issued: number | undefined;
      await waitFor('analytics to count both events', async () => {
        const { programStats } = await ok<{ programStats: { pointsIssued: number } }>('{ programStats { pointsIssued } }', {}, { token: t.admin });
        issued = programStats.pointsIssued;
        return issued === 1005;
      }).catch((error: Error) => assert.fail(`${error.message}; pointsIssued is ${issued}`));
    } finally {
      await held.end();
      await client.dispose();
    }
  });
});
