#!/usr/bin/env node
// Webhook dispatch: how many deliveries a second reach a local receiver, and how much a dead
// endpoint with 10,000 queued deliveries slows a healthy one (the healthy rate with it ÷ without,
// measured in the same run). Part of `npm run bench`; `npm run bench:webhooks` runs it alone.
//
// Events are published on the bus as the members subgraph would (MEMBER_ENROLLED, one key per
// member), so what is measured is the whole path: the webhooks consumer queues the deliveries, the
// analytics dispatcher claims, signs, POSTs and records them. The dead endpoint accepts connections
// and never answers, so every attempt holds a request until the 10 s timeout.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:http';
import { pathToFileURL } from 'node:url';
import pg from 'pg';
import { kit, log, runBench } from './harness.mjs';

export const THROUGHPUT_EVENTS = 20_000;
export const DEAD_QUEUED = 10_000;
export const HEALTHY_EVENTS = 10_000;
const ROUNDS = 2;
const MEMBERS = 2_000; // events spread over this many members: each member's are sent in order

/** A local receiver: answers 200 at once (or never, on /dead), counts what arrives per path. */
async function startReceiver() {
  const counts = new Map();
  const held = new Set();
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const now = performance.now();
      const entry = counts.get(req.url) ?? { n: 0, first: now, last: now };
      entry.n++;
      entry.last = now;
      counts.set(req.url, entry);
      if (req.url === '/dead') {
        held.add(res);
        return;
      }
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 65_000;
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: (path) => `http://127.0.0.1:${server.address().port}${path}`,
    count: (path) => counts.get(path) ?? { n: 0, first: 0, last: 0 },
    close: () =>
      new Promise((resolve) => {
        for (const res of held) res.destroy();
        server.close(resolve);
        server.closeAllConnections();
      }),
  };
}

async function until(what, probe, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error(`webhook bench: waited ${timeoutMs / 1000} s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export async function runWebhookBench({ system }) {
  const { gatewayUrl, secrets, databases } = system;
  const receiver = await startReceiver();
  const bus = await kit.PostgresEventBus.connect(databases.events);
  const db = new pg.Client({ connectionString: databases.analytics });
  await db.connect();
  const runId = randomUUID().slice(0, 8);
  let sourceId = 0;

  const admin = async (tenant) => ({ authorization: `Bearer ${await kit.signUserToken({ sub: 'bench-admin', tenant, roles: ['admin'] }, secrets.JWT_SECRET)}` });
  const createEndpoint = async (tenant, path) => {
    const response = await fetch(`${gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await admin(tenant)) },
      body: JSON.stringify({ query: 'mutation($input: WebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }', variables: { input: { url: receiver.url(path), eventTypes: ['*'] } } }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(`createWebhookEndpoint: ${JSON.stringify(body.errors)}`);
    return body.data.createWebhookEndpoint.endpoint.id;
  };
  const members = Array.from({ length: MEMBERS }, () => randomUUID());
  const publish = async (tenant, count) => {
    for (let offset = 0; offset < count; offset += 5000) {
      const occurredAt = new Date().toISOString();
      const events = Array.from({ length: Math.min(5000, count - offset) }, (_, i) => {
        const memberId = members[(offset + i) % MEMBERS];
        return { source: `bench-webhooks-${runId}`, sourceId: String(++sourceId), type: 'MEMBER_ENROLLED', tenant, key: memberId, payload: { memberId, country: null }, occurredAt };
      });
      await bus.publish(events);
    }
  };
  const delivered = async (endpointId) =>
    (await db.query(`SELECT count(*) FILTER (WHERE status = 'DELIVERED')::int AS delivered, count(*)::int AS queued FROM webhook_deliveries WHERE endpoint_id = $1`, [endpointId])).rows[0];

  /** Publishes `count` events for a fresh endpoint of `tenant` at `path`; deliveries/s, first to last arrival. */
  const measure = async (name, tenant, path, count) => {
    const endpointId = await createEndpoint(tenant, path);
    log(`webhooks: ${name}: publishing ${count.toLocaleString('en')} events…`);
    const started = performance.now();
    await publish(tenant, count);
    await until(`${count} deliveries at ${path}`, () => receiver.count(path).n >= count);
    await until(`${count} deliveries recorded DELIVERED`, async () => (await delivered(endpointId)).delivered === count);
    const { n, first, last } = receiver.count(path);
    const rate = (n - 1) / ((last - first) / 1000);
    const endToEnd = count / ((performance.now() - started) / 1000);
    log(`webhooks: ${name}: ${rate.toFixed(0)} deliveries/s (first to last arrival; ${endToEnd.toFixed(0)}/s from the first publish to the last DELIVERED)`);
    return { name, rate, endToEnd, requests: n, count };
  };

  const setActive = async (tenant, endpointId, path, active) => {
    const response = await fetch(`${gatewayUrl}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(await admin(tenant)) },
      body: JSON.stringify({
        query: 'mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { active } }',
        variables: { id: endpointId, input: { url: receiver.url(path), eventTypes: ['*'], active } },
      }),
    });
    const body = await response.json();
    if (body.errors) throw new Error(`updateWebhookEndpoint: ${JSON.stringify(body.errors)}`);
  };

  try {
    const throughput = await measure('throughput', `bench-wh-a-${runId}`, '/throughput', THROUGHPUT_EVENTS);

    // The dead endpoint's queue first: every one of its deliveries queued (and the first tried and
    // held) before any healthy endpoint's events are published. Then rounds alternate the healthy
    // endpoint alone (the dead one paused: its deliveries stay queued but are not claimed) and beside
    // it (active), so a noisy neighbour on this machine slows both alike; the rounds are pooled.
    const deadTenant = `bench-wh-dead-${runId}`;
    const deadId = await createEndpoint(deadTenant, '/dead');
    log(`webhooks: queueing ${DEAD_QUEUED.toLocaleString('en')} deliveries for a dead endpoint…`);
    await publish(deadTenant, DEAD_QUEUED);
    await until('the dead endpoint’s deliveries queued', async () => (await delivered(deadId)).queued === DEAD_QUEUED);
    await until('the dead endpoint holding requests', () => receiver.count('/dead').n > 0);
    const alone = [];
    const beside = [];
    for (let round = 0; round < ROUNDS; round++) {
      await setActive(deadTenant, deadId, '/dead', false);
      alone.push(await measure(`healthy alone, round ${round + 1}`, `bench-wh-b${round}-${runId}`, `/alone-${round}`, HEALTHY_EVENTS / ROUNDS));
      await setActive(deadTenant, deadId, '/dead', true);
      const held = receiver.count('/dead').n;
      await until('the dead endpoint claimed again', () => receiver.count('/dead').n > held);
      beside.push(await measure(`healthy beside the dead one, round ${round + 1}`, `bench-wh-c${round}-${runId}`, `/beside-${round}`, HEALTHY_EVENTS / ROUNDS));
    }
    const pooled = (runs) => runs.reduce((sum, r) => sum + r.requests, 0) / runs.reduce((sum, r) => sum + r.requests / r.rate, 0);
    const aloneRate = pooled(alone);
    const besideRate = pooled(beside);
    return { throughput, alone: { rate: aloneRate }, beside: { rate: besideRate }, ratio: besideRate / aloneRate, deadRequests: receiver.count('/dead').n };
  } finally {
    await db.end();
    await bus.close();
    await receiver.close();
  }
}

export const TARGET_DELIVERIES_PER_SECOND = 1000;
export const TARGET_DEAD_ENDPOINT_RATIO = 0.9;

export function printWebhooks(result, verdict) {
  const { throughput, alone, beside, ratio } = result;
  console.log(`webhook dispatch (${throughput.count.toLocaleString('en')} to one endpoint): ${throughput.rate.toFixed(0)} deliveries/s  target ≥ ${TARGET_DELIVERIES_PER_SECOND}   ${verdict(throughput.rate >= TARGET_DELIVERIES_PER_SECOND)}`);
  console.log(
    `webhooks healthy beside a dead endpoint (${DEAD_QUEUED.toLocaleString('en')} queued) ÷ alone (${ROUNDS} rounds each): ${ratio.toFixed(2)} (${beside.rate.toFixed(0)} vs ${alone.rate.toFixed(0)} deliveries/s, ${result.deadRequests} requests held by the dead one)  target ≥ ${TARGET_DEAD_ENDPOINT_RATIO.toFixed(2)}   ${verdict(ratio >= TARGET_DEAD_ENDPOINT_RATIO)}`,
  );
}

// Run alone: `npm run bench:webhooks`.
if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  await runBench(async (system) => {
    const result = await runWebhookBench({ system });
    console.log('');
    printWebhooks(result, (pass) => (pass ? 'PASS' : 'MISS'));
  });
}
