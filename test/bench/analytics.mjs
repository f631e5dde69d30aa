// Reports at scale: 100,000 ledger events on the bus for one tenant, spread over 90 days and 1,000
// members; how fast the analytics consumer ingests them, then programStats + pointsTimeline(DAY, 90
// days) latency through the gateway.
import { randomUUID } from 'node:crypto';

const EVENTS = 100_000;
const MEMBERS = 1000;
const DAYS = 90;
const DAY_MS = 86_400_000;

export const REPORT_QUERY = `query Reports($range: DateRangeInput!) {
  programStats { members activeMembers pointsIssued pointsRedeemed pointsOutstanding redemptions }
  pointsTimeline(range: $range, interval: DAY) { start pointsIssued pointsRedeemed redemptions }
}`;

async function analyticsPosition(kit, analyticsUrl, serviceSecret) {
  const headers = { [kit.IDENTITY_HEADER]: await kit.signIdentity(kit.serviceIdentity('bench', '*'), serviceSecret) };
  const response = await fetch(`${analyticsUrl}/internal/analytics/position`, { headers });
  return BigInt((await response.json()).position);
}

/** Publishes the events as members' outbox relay would, and times the consumer until it caught up. */
export async function loadAnalytics({ kit, system, tenant, log }) {
  const bus = await kit.PostgresEventBus.connect(system.databases.events);
  try {
    const members = Array.from({ length: MEMBERS }, () => randomUUID());
    const now = Date.now();
    const balances = new Map();
    log(`analytics: publishing ${EVENTS} ledger events…`);
    const started = performance.now();
    for (let offset = 0; offset < EVENTS; offset += 5000) {
      const batch = [];
      for (let i = offset; i < Math.min(offset + 5000, EVENTS); i++) {
        const memberId = members[i % MEMBERS];
        const balance = balances.get(memberId) ?? 0;
        const delta = balance >= 50 && i % 4 === 3 ? -50 : 25;
        balances.set(memberId, balance + delta);
        batch.push({
          source: 'bench',
          sourceId: `${tenant}:${i}`,
          type: 'POINTS_BALANCE_CHANGED',
          tenant,
          key: memberId,
          occurredAt: new Date(now - Math.floor(((EVENTS - i) / EVENTS) * DAYS * DAY_MS)).toISOString(),
          payload: { memberId, balance: balance + delta, delta, transaction: { id: randomUUID(), type: delta > 0 ? 'EARN' : 'REDEEM' } },
        });
      }
      await bus.publish(batch);
    }
    const head = BigInt(await bus.head());
    while ((await analyticsPosition(kit, system.urls.analytics, system.secrets.SERVICE_SECRET)) < head) await new Promise((r) => setTimeout(r, 50));
    const seconds = (performance.now() - started) / 1000;
    const outstanding = [...balances.values()].reduce((a, b) => a + b, 0);
    return { events: EVENTS, seconds, eventsPerSecond: EVENTS / seconds, outstanding };
  } finally {
    await bus.close();
  }
}

export const reportRange = () => ({ from: new Date(Date.now() - (DAYS - 1) * DAY_MS).toISOString(), to: new Date().toISOString() });
