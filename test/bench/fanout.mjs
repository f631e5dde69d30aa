// Subscription fan-out: N graphql-ws connections on one gateway process, each following the staff
// feed (every balance change of the tenant), a burst of balance changes, and what it costs:
// delivery latency from the ledger commit to the client, and gateway memory per idle subscription.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';

const FEED = 'subscription { pointsBalanceChanged { balance delta occurredAt member { id } } }';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function gatewayMetric(gatewayUrl, name) {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
  return Number(line?.split(' ').pop() ?? NaN);
}

async function waitFor(check, what, ms = 120_000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}`);
}

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/**
 * Opens subscribers up to `total` (in batches, as dashboards would trickle in), each recording the
 * arrival time of every event against the event's own occurredAt.
 */
async function openSubscribers(state, total, gatewayUrl, token) {
  while (state.clients.length < total) {
    const batch = Math.min(250, total - state.clients.length);
    for (let i = 0; i < batch; i++) {
      const client = createClient({
        url: `${gatewayUrl.replace(/^http/, 'ws')}/graphql`,
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${token}` },
        retryAttempts: 0,
        lazy: false,
      });
      client.subscribe(
        { query: FEED },
        {
          next: ({ data, errors }) => {
            if (errors) state.errors.push(errors);
            else state.latencies.push(Date.now() - Date.parse(data.pointsBalanceChanged.occurredAt));
          },
          error: (error) => state.errors.push(error),
          complete: () => {},
        },
      );
      state.clients.push(client);
    }
    await waitFor(async () => (await gatewayMetric(gatewayUrl, 'subscriptions_active')) >= state.clients.length, `${state.clients.length} subscriptions`);
  }
}

export async function runFanout({ gatewayUrl, token, adjust, log, sizes = [1000, 5000], burst = 20 }) {
  const state = { clients: [], latencies: [], errors: [] };
  const rows = [];
  try {
    // Memory per subscription is the slope between the sizes (idle, before each burst): the
    // gateway's baseline includes whatever earlier load left for the garbage collector.
    const memory = [];
    for (const size of sizes) {
      log(`fan-out: opening ${size} subscriptions…`);
      await openSubscribers(state, size, gatewayUrl, token);
      await sleep(3000); // let connection set-up garbage be collected before reading memory
      memory.push({
        size,
        rss: await gatewayMetric(gatewayUrl, 'process_resident_memory_bytes'),
        heap: await gatewayMetric(gatewayUrl, 'nodejs_heap_size_used_bytes'),
      });
      state.latencies = [];
      log(`fan-out: ${burst} balance changes to ${size} subscribers…`);
      for (let i = 0; i < burst; i++) {
        await adjust();
        await sleep(50);
      }
      const expected = size * burst;
      await waitFor(() => state.latencies.length + state.errors.length >= expected, `${expected} deliveries`, 60_000).catch(() => undefined);
      const sorted = Float64Array.from(state.latencies).sort();
      rows.push({
        size,
        delivered: state.latencies.length,
        expected,
        errors: state.errors.length,
        p50: percentile(sorted, 50),
        p99: percentile(sorted, 99),
        // The larger of the resident-memory and used-heap slopes: neither alone is exact without a GC.
        kbPerSubscription:
          memory.length > 1
            ? Math.max(memory.at(-1).rss - memory[0].rss, memory.at(-1).heap - memory[0].heap) / (memory.at(-1).size - memory[0].size) / 1024
            : NaN,
      });
    }
  } finally {
    await Promise.all(state.clients.map((client) => client.dispose().catch(() => undefined)));
  }
  return rows;
}
