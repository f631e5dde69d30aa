import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, it } from '@jest/globals';
import { startService, waitFor } from './support/processes';
import { codes, gatewayCredential, gql, newTenant, ok, serviceSecret, sql, token, type Caller } from './support/system';

const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;

/** The test system's webhook settings (test/jest/global-setup.mjs), for the replicas started here. */
const WEBHOOK_ENV = {
  WEBHOOK_RETRY_BASE_MS: '100',
  WEBHOOK_RETRY_MAX_DELAY_MS: '400',
  WEBHOOK_RETRY_FOR_MS: '4000',
  WEBHOOK_TIMEOUT_MS: '1500',
  WEBHOOK_LEASE_MS: '4000',
  WEBHOOK_POLL_MS: '50',
};

/** The receiver's check, as docs/integrations.md gives it to integrators (same logic, typed). */
function verifyWebhook(secret: string, header: string, rawBody: string, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((part) => part.split('='));
  const t = Number(parts.find(([key]) => key === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(Date.now() / 1000 - t) > toleranceSeconds) return false;
  const expected = createHmac('sha256', secret).update(`${t}.${rawBody}`).digest();
  return parts.some(([key, value]) => key === 'v1' && /^[0-9a-f]{64}$/.test(value ?? '') && timingSafeEqual(Buffer.from(value!, 'hex'), expected));
}

/** The payload fields these tests look at. */
interface EventData {
  memberId?: string;
  country?: string | null;
  balance?: number;
  delta?: number;
  transaction?: { type: string; points: number };
}

interface Received {
  path: string;
  headers: IncomingMessage['headers'];
  raw: string;
  body: { id: string; type: string; tenant: string; occurredAt: string; data: EventData };
  /** When it arrived and when it was answered 2xx, on one counter of the receiver's events. */
  arrived: number;
  answered?: number;
  status?: number;
}

/** What the receiver does with a request: answer `status` (after `delayMs`), or never answer. */
type Answer = { status: number; delayMs?: number } | 'hold';

/** Receivers still open: closed when the file ends. */
const receivers = new Set<() => Promise<void>>();
afterAll(() => Promise.all([...receivers].map((close) => close())));

/** A real HTTP receiver: records every request and answers as the test says, per path. */
async function receiver() {
  const received: Received[] = [];
  const behaviours = new Map<string, (request: Received, attempt: number) => Answer | Promise<Answer>>();
  const held = new Set<ServerResponse>();
  let clock = 0;
  const server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (raw += chunk));
    req.on('end', () => {
      const request: Received = { path: req.url ?? '', headers: req.headers, raw, body: JSON.parse(raw) as Received['body'], arrived: ++clock };
      received.push(request);
      const attempt = received.filter((r) => r.path === request.path && r.body.id === request.body.id).length;
      void Promise.resolve(behaviours.get(request.path)?.(request, attempt) ?? { status: 200 }).then((answer) => respond(request, answer));
    });
    const respond = (request: Received, answer: Answer) => {
      if (answer === 'hold') {
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      const reply = () => {
        if (answer.status >= 200 && answer.status < 300) request.answered = ++clock;
        request.status = answer.status;
        res.writeHead(answer.status).end('ok');
      };
      if (answer.delayMs) setTimeout(reply, answer.delayMs);
      else reply();
    };
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      for (const res of held) res.destroy();
      server.close(() => resolve());
      server.closeAllConnections();
    });
  receivers.add(close);
  return {
    url: (path: string) => `${base}${path}`,
    behave: (path: string, answer: (request: Received, attempt: number) => Answer | Promise<Answer>) => behaviours.set(path, answer),
    at: (path: string) => received.filter((r) => r.path === path),
    /** Requests answered 2xx at `path`, each event once (the first 2xx), in the order answered. */
    delivered: (path: string) => {
      const seen = new Set<string>();
      return received
        .filter((r) => r.path === path && r.answered !== undefined)
        .sort((a, b) => a.answered! - b.answered!)
        .filter((r) => !seen.has(r.body.id) && seen.add(r.body.id));
    },
    held: () => held.size,
    /** Answers every held request with `status`, e.g. once the test has seen what it waited for. */
    release: (status: number) => {
      for (const res of held) if (!res.destroyed) res.writeHead(status).end('ok');
      held.clear();
    },
  };
}

const CREATE = `mutation($input: WebhookEndpointInput!) {
  createWebhookEndpoint(input: $input) { endpoint { id url eventTypes active createdAt } secret }
}`;
const DELIVERIES = `query($endpointId: ID!, $first: Int, $after: String) {
  webhookDeliveries(endpointId: $endpointId, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id eventId eventType status attempts lastStatusCode lastError nextAttemptAt deliveredAt createdAt } }
  }
}`;

interface Delivery {
  id: string;
  eventId: string;
  eventType: string;
  status: 'PENDING' | 'DELIVERED' | 'FAILED' | 'DEAD';
  attempts: number;
  lastStatusCode: number | null;
  lastError: string | null;
  nextAttemptAt: string | null;
}

async function createEndpoint(caller: Caller, url: string, eventTypes: string[]) {
  const { createWebhookEndpoint } = await ok<{ createWebhookEndpoint: { endpoint: { id: string; eventTypes: string[] }; secret: string } }>(
    CREATE,
    { input: { url, eventTypes } },
    caller,
  );
  return { id: createWebhookEndpoint.endpoint.id, secret: createWebhookEndpoint.secret, eventTypes: createWebhookEndpoint.endpoint.eventTypes };
}

type DeliveryPage = { pageInfo: { hasNextPage: boolean; endCursor: string | null }; edges: { node: Delivery }[] };

/** Every delivery of an endpoint, page by page. */
async function deliveries(caller: Caller, endpointId: string): Promise<Delivery[]> {
  const all: Delivery[] = [];
  let after: string | null = null;
  for (;;) {
    const page: DeliveryPage = await ok<{ webhookDeliveries: DeliveryPage }>(DELIVERIES, { endpointId, first: 50, after }, caller).then((d) => d.webhookDeliveries);
    const webhookDeliveries = page;
    all.push(...webhookDeliveries.edges.map((e) => e.node));
    if (!webhookDeliveries.pageInfo.hasNextPage) return all;
    after = webhookDeliveries.pageInfo.endCursor;
  }
}

const WAIT_MS = 60_000;

describe('webhooks', () => {
  it('sends signed events with their id, filtered by type or all of them, and shows the secret only once', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    const balances = await createEndpoint(admin, r.url('/balances'), ['points.balance_changed']);
    const everything = await createEndpoint(admin, r.url('/all'), ['*']);
    assert.match(balances.secret, /^whsec_/);
    assert.notEqual(balances.secret, everything.secret);
    // Listed without the secret: the type has no such field.
    const listed = await ok<{ webhookEndpoints: { id: string; url: string; eventTypes: string[]; active: boolean }[] }>('{ webhookEndpoints { id url eventTypes active } }', {}, admin);
    assert.deepEqual(listed.webhookEndpoints.map((e) => e.id).sort(), [balances.id, everything.id].sort());
    assert.deepEqual(codes(await gql('{ webhookEndpoints { id secret } }', {}, admin)), ['BAD_USER_INPUT']);

    const memberId = await t.enroll({ country: 'DE' });
    await t.adjust(memberId, 120);
    await waitFor('both events at the * endpoint and the balance change at the filtered one', () => r.delivered('/all').length === 2 && r.delivered('/balances').length === 1, WAIT_MS);

    const [changed] = r.delivered('/balances');
    assert.equal(changed!.body.type, 'points.balance_changed');
    for (const [request, secret] of [...r.at('/balances').map((q) => [q, balances.secret] as const), ...r.at('/all').map((q) => [q, everything.secret] as const)]) {
      assert.equal(request.headers['content-type'], 'application/json');
      assert.equal(request.headers['x-loyalty-event-id'], request.body.id);
      assert.ok(verifyWebhook(secret, String(request.headers['x-loyalty-signature']), request.raw), 'the signature verifies with the endpoint’s secret');
      assert.ok(!verifyWebhook(secret, String(request.headers['x-loyalty-signature']), `${request.raw} `), 'and not for another body');
      assert.deepEqual(Object.keys(request.body), ['id', 'type', 'tenant', 'occurredAt', 'data']);
      assert.equal(request.body.tenant, t.tenant);
      assert.ok(!Number.isNaN(Date.parse(request.body.occurredAt)));
    }
    const all = r.delivered('/all');
    assert.deepEqual(all.map((q) => q.body.type), ['member.enrolled', 'points.balance_changed']);
    assert.deepEqual(all[0]!.body.data, { memberId, country: 'DE' });
    const data = all[1]!.body.data;
    assert.equal(data.memberId, memberId);
    assert.equal(data.balance, 120);
    assert.equal(data.delta, 120);
    assert.equal(data.transaction?.type, 'ADJUST');
    assert.equal(data.transaction?.points, 120);
    // The same event, to two endpoints: one id.
    assert.equal(all[1]!.body.id, changed!.body.id);

    const history = await waitFor('both deliveries recorded', async () => {
      const list = await deliveries(admin, everything.id);
      return list.every((d) => d.status === 'DELIVERED') && list;
    }, WAIT_MS);
    assert.deepEqual(history.map((d) => [d.eventType, d.status, d.attempts, d.lastStatusCode, d.nextAttemptAt]).sort(), [
      ['member.enrolled', 'DELIVERED', 1, 200, null],
      ['points.balance_changed', 'DELIVERED', 1, 200, null],
    ]);
    assert.deepEqual(history.map((d) => d.eventId).sort(), all.map((q) => q.body.id).sort());

    // A changed filter applies to the next events; an inactive endpoint is sent nothing.
    await ok('mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }', { id: balances.id, input: { url: r.url('/balances'), eventTypes: ['member.enrolled'] } }, admin);
    await ok('mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { active } }', { id: everything.id, input: { url: r.url('/all'), eventTypes: ['*'], active: false } }, admin);
    const second = await t.enroll();
    await waitFor('the enrolment at the re-filtered endpoint', () => r.delivered('/balances').some((q) => q.body.data.memberId === second), WAIT_MS);
    assert.deepEqual(r.delivered('/balances').map((q) => q.body.type), ['points.balance_changed', 'member.enrolled']);
    assert.equal((await deliveries(admin, everything.id)).length, 2, 'nothing queued for the inactive endpoint');

    const deleted = await ok<{ deleteWebhookEndpoint: { id: string } }>('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }', { id: balances.id }, admin);
    assert.equal(deleted.deleteWebhookEndpoint.id, balances.id);
    assert.deepEqual(codes(await gql(DELIVERIES, { endpointId: balances.id }, admin)), ['NOT_FOUND']);
  });

  it('delivers every event once, in order per member, through errors, timeouts and slow answers', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    // Per event: a 500 first; then for some no answer at all (a timeout), for some a slow 200,
    // for the rest a 200; whatever follows is a 200.
    let n = 0;
    const kind = new Map<string, number>();
    r.behave('/flaky', (request, attempt) => {
      if (!kind.has(request.body.id)) kind.set(request.body.id, n++ % 3);
      if (attempt === 1) return { status: 500 };
      if (attempt === 2 && kind.get(request.body.id) === 0) return 'hold';
      if (attempt === 2 && kind.get(request.body.id) === 1) return { status: 200, delayMs: 300 };
      return { status: 204 };
    });
    const endpoint = await createEndpoint(admin, r.url('/flaky'), ['points.balance_changed']);
    const members = await Promise.all([t.enroll(), t.enroll(), t.enroll()]);
    const CREDITS = 5;
    await Promise.all(members.map(async (member) => {
      for (let i = 1; i <= CREDITS; i++) await t.adjust(member, 10);
    }));
    const events = members.length * CREDITS;
    await waitFor(() => `${events} events delivered (${r.delivered('/flaky').length} so far)`, () => r.delivered('/flaky').length === events, WAIT_MS);

    for (const member of members) {
      const requests = r.at('/flaky').filter((q) => q.body.data.memberId === member);
      const delivered = r.delivered('/flaky').filter((q) => q.body.data.memberId === member);
      // In the order the member's balance moved, and nothing of an event sent before the event
      // before it was answered with a 2xx.
      assert.deepEqual(delivered.map((q) => q.body.data.balance), [10, 20, 30, 40, 50]);
      for (let i = 1; i < delivered.length; i++) {
        const first = Math.min(...requests.filter((q) => q.body.id === delivered[i]!.body.id).map((q) => q.arrived));
        assert.ok(first > delivered[i - 1]!.answered!, `event ${i + 1} of ${member} was sent before event ${i} was delivered`);
      }
    }
    const rows = await waitFor('every delivery recorded DELIVERED', async () => {
      const list = await deliveries(admin, endpoint.id);
      return list.length === events && list.every((d) => d.status === 'DELIVERED') && list;
    }, WAIT_MS);
    assert.equal(new Set(rows.map((d) => d.eventId)).size, events, 'one delivery per event');
    assert.ok(rows.every((d) => d.attempts >= 2), 'each failed once before it was delivered');
    const timedOut = rows.filter((d) => d.attempts >= 3);
    assert.ok(timedOut.length >= members.length, `the held requests were given up and tried again (${timedOut.length})`);
  });

  it('keeps a healthy endpoint flowing while another one never answers', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    r.behave('/dead', () => 'hold');
    const dead = await createEndpoint(admin, r.url('/dead'), ['*']);
    await createEndpoint(admin, r.url('/healthy'), ['*']);
    const members = await Promise.all(Array.from({ length: 20 }, () => t.enroll()));
    await waitFor('every enrolment at the healthy endpoint', () => r.delivered('/healthy').length === members.length, WAIT_MS);
    // Meanwhile the dead endpoint has held requests, and not one of its deliveries went through.
    assert.ok(r.at('/dead').length > 0);
    assert.ok((await deliveries(admin, dead.id)).every((d) => d.status !== 'DELIVERED'));
    // At most its concurrency (WEBHOOK_CONCURRENCY, 16 in flight per endpoint) is waiting at once.
    assert.ok(r.held() <= 16, `${r.held()} requests held`);
  });

  it('sends a failing endpoint fewer requests at once until it answers again', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    // Every answer a slow 503. Once a retry arrives the endpoint is failing (a delivery of it is
    // FAILED, or that retry would not have been claimed): from then on at most 2 requests at once.
    let failingSince: number | undefined;
    let most = 0;
    r.behave('/sick', (request, attempt) => {
      if (attempt > 1) failingSince ??= request.arrived;
      if (failingSince !== undefined) {
        const open = r.at('/sick').filter((q) => q.arrived >= failingSince! && q.status === undefined).length;
        most = Math.max(most, open);
      }
      return { status: 503, delayMs: 150 };
    });
    const endpoint = await createEndpoint(admin, r.url('/sick'), ['member.enrolled']);
    await Promise.all(Array.from({ length: 20 }, () => t.enroll()));
    await waitFor('every delivery DEAD', async () => {
      const list = await deliveries(admin, endpoint.id);
      return list.length === 20 && list.every((d) => d.status === 'DEAD');
    }, WAIT_MS);
    assert.ok(failingSince !== undefined && r.at('/sick').filter((q) => q.arrived > failingSince!).length > 10, 'retries were sent');
    assert.ok(most <= 2, `${most} requests at once to a failing endpoint`);
    assert.ok(most >= 1);
  });

  it('loses nothing when a dispatcher is SIGKILLed in the middle of deliveries', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    // A second replica that may hold more of the endpoint's deliveries than the first, so both send.
    const replica = await startService('analytics', {
      DATABASE_URL: databases.analytics!,
      EVENT_BUS_URL: databases.events!,
      SERVICE_SECRET: serviceSecret,
      ...WEBHOOK_ENV,
      WEBHOOK_CONCURRENCY: '32',
      WEBHOOK_POLL_MS: '20',
    });
    const owner = `%/${replica.child.pid!}/%`;
    const endpoint = await createEndpoint(admin, r.url('/kill'), ['member.enrolled']);
    // What the replica sends is held unanswered (it is killed in the middle); what the test
    // system's analytics sends is answered, slowly, so the replica finds deliveries to claim.
    let killed = false;
    r.behave('/kill', async (request) => {
      const [row] = await sql<{ lease_owner: string | null }>('analytics', 'SELECT lease_owner FROM webhook_deliveries WHERE endpoint_id = $1 AND event_id = $2', [endpoint.id, request.body.id]);
      const fromReplica = !killed && row?.lease_owner?.includes(`/${replica.child.pid!}/`);
      return fromReplica ? 'hold' : { status: 200, delayMs: 300 };
    });
    const members = await Promise.all(Array.from({ length: 30 }, () => t.enroll()));
    await waitFor('a delivery held by the replica', () => r.held() > 0, WAIT_MS);
    const claimedByReplica = await sql<{ id: string }>('analytics', 'SELECT id FROM webhook_deliveries WHERE endpoint_id = $1 AND lease_owner LIKE $2 AND status = $3', [endpoint.id, owner, 'PENDING']);
    assert.ok(claimedByReplica.length > 0);
    const exited = new Promise((resolve) => replica.child.once('exit', resolve));
    replica.child.kill('SIGKILL');
    await exited;
    killed = true;

    await waitFor(() => `every enrolment delivered (${r.delivered('/kill').length}/${members.length})`, () => r.delivered('/kill').length === members.length, WAIT_MS);
    const rows = await waitFor('every delivery recorded DELIVERED', async () => {
      const list = await deliveries(admin, endpoint.id);
      return list.length === members.length && list.every((d) => d.status === 'DELIVERED') && list;
    }, WAIT_MS);
    assert.deepEqual(new Set(r.delivered('/kill').map((q) => q.body.data.memberId)), new Set(members));
    assert.equal(new Set(rows.map((d) => d.eventId)).size, members.length, 'exactly one DELIVERED per event');
    // What the killed replica held was taken over once its lease ran out: a second attempt each.
    const retaken = rows.filter((d) => claimedByReplica.some((c) => c.id === d.id));
    assert.equal(retaken.length, claimedByReplica.length);
    assert.ok(retaken.every((d) => d.attempts >= 2), JSON.stringify(retaken));
  });

  it('gives up after the schedule (DEAD), and redeliverWebhook sends the same event again', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    let status = 503;
    r.behave('/down', () => ({ status }));
    const endpoint = await createEndpoint(admin, r.url('/down'), ['member.enrolled']);
    await t.enroll();
    const [dead] = await waitFor('the delivery to go DEAD', async () => {
      const list = await deliveries(admin, endpoint.id);
      return list.length === 1 && list[0]!.status === 'DEAD' && list;
    }, WAIT_MS);
    assert.ok(dead!.attempts >= 3, `${dead!.attempts} attempts`);
    assert.equal(dead!.lastStatusCode, 503);
    assert.equal(dead!.lastError, 'HTTP 503');
    assert.equal(dead!.nextAttemptAt, null);
    const tries = r.at('/down').length;
    assert.equal(tries, dead!.attempts);

    status = 200;
    const { redeliverWebhook } = await ok<{ redeliverWebhook: Delivery }>('mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id eventId status nextAttemptAt } }', { id: dead!.id }, admin);
    assert.equal(redeliverWebhook.status, 'PENDING');
    assert.equal(redeliverWebhook.eventId, dead!.eventId);
    await waitFor('the redelivery', async () => (await deliveries(admin, endpoint.id))[0]!.status === 'DELIVERED', WAIT_MS);
    const [again] = r.delivered('/down');
    assert.equal(again!.body.id, dead!.eventId);
    assert.equal(again!.headers['x-loyalty-event-id'], dead!.eventId);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: '00000000-0000-4000-8000-000000000000' }, admin)), ['NOT_FOUND']);
  });

  it('signs with the new and the previous secret after a rotation, then with the new one only', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const r = await receiver();
    const endpoint = await createEndpoint(admin, r.url('/rotate'), ['member.enrolled']);
    const { rotateWebhookSecret } = await ok<{ rotateWebhookSecret: { secret: string; endpoint: { id: string; previousSecretExpiresAt: string } } }>(
      'mutation($id: ID!) { rotateWebhookSecret(id: $id, previousSecretValidSeconds: 2) { secret endpoint { id previousSecretExpiresAt } } }',
      { id: endpoint.id },
      admin,
    );
    const fresh = rotateWebhookSecret.secret;
    assert.notEqual(fresh, endpoint.secret);
    const first = await t.enroll();
    await waitFor('the first enrolment', () => r.delivered('/rotate').some((q) => q.body.data.memberId === first), WAIT_MS);
    const during = r.delivered('/rotate').find((q) => q.body.data.memberId === first)!;
    const header = String(during.headers['x-loyalty-signature']);
    assert.equal(header.split(',').filter((p) => p.startsWith('v1=')).length, 2);
    assert.ok(verifyWebhook(fresh, header, during.raw), 'valid under the new secret');
    assert.ok(verifyWebhook(endpoint.secret, header, during.raw), 'and under the previous one');

    const expiry = Date.parse(rotateWebhookSecret.endpoint.previousSecretExpiresAt);
    await waitFor('the previous secret to expire', () => Date.now() > expiry + 100, WAIT_MS);
    const listed = await ok<{ webhookEndpoints: { previousSecretExpiresAt: string | null }[] }>('{ webhookEndpoints { previousSecretExpiresAt } }', {}, admin);
    assert.equal(listed.webhookEndpoints[0]!.previousSecretExpiresAt, null);
    const second = await t.enroll();
    await waitFor('the second enrolment', () => r.delivered('/rotate').some((q) => q.body.data.memberId === second), WAIT_MS);
    const after = r.delivered('/rotate').find((q) => q.body.data.memberId === second)!;
    const afterHeader = String(after.headers['x-loyalty-signature']);
    assert.equal(afterHeader.split(',').filter((p) => p.startsWith('v1=')).length, 1);
    assert.ok(verifyWebhook(fresh, afterHeader, after.raw));
    assert.ok(!verifyWebhook(endpoint.secret, afterHeader, after.raw), 'no longer under the previous one');
  });

  it('refuses bad URLs and unknown event types, naming the field, and is for admins only', async () => {
    const t = await newTenant();
    const admin = { token: t.admin };
    const create = (url: string, eventTypes: string[] = ['*'], caller: Caller = admin) => gql(CREATE, { input: { url, eventTypes } }, caller);
    const field = (result: Awaited<ReturnType<typeof gql>>) => [result.errors?.[0]?.extensions?.code, result.errors?.[0]?.extensions?.field];
    assert.deepEqual(field(await create('ftp://example.com/hook')), ['BAD_USER_INPUT', 'url']);
    assert.deepEqual(field(await create('not a url')), ['BAD_USER_INPUT', 'url']);
    assert.deepEqual(field(await create(`https://example.com/${'a'.repeat(2049 - 'https://example.com/'.length)}`)), ['BAD_USER_INPUT', 'url']);
    assert.deepEqual(field(await create('https://user:pw@example.com/')), ['BAD_USER_INPUT', 'url']);
    const unknown = await create('https://example.com/hook', ['points.balance_changed', 'points.gifted', 'nope']);
    assert.deepEqual(field(unknown), ['BAD_USER_INPUT', 'eventTypes']);
    assert.match(unknown.errors![0]!.message, /points\.gifted, nope/);
    assert.deepEqual(field(await create('https://example.com/hook', [])), ['BAD_USER_INPUT', 'eventTypes']);
    // Exactly 2,048 characters is allowed.
    const longest = `https://example.com/${'a'.repeat(2048 - 'https://example.com/'.length)}`;
    assert.deepEqual(codes(await create(longest)), []);

    const memberId = await t.enroll();
    for (const role of ['marketer', 'agent', 'integration', 'member']) {
      const caller = { token: await token(t.tenant, [role], role === 'member' ? { memberId } : {}) };
      assert.deepEqual(codes(await create('https://example.com/hook', ['*'], caller)), ['FORBIDDEN'], role);
      assert.deepEqual(codes(await gql('{ webhookEndpoints { id } }', {}, caller)), ['FORBIDDEN'], role);
    }
  });

  it('refuses loopback and private addresses in production, after DNS too', async () => {
    // A production replica of analytics, sending nothing, asked directly with the gateway's credential.
    const replica = await startService('analytics', { DATABASE_URL: databases.analytics!, EVENT_BUS_URL: databases.events!, SERVICE_SECRET: serviceSecret, NODE_ENV: 'production', WEBHOOK_DISPATCH: 'false' });
    const t = await newTenant();
    const staff: Caller = { headers: await gatewayCredential({ tenant: t.tenant, principal: 'admin@prod', roles: ['admin'], scopes: [] }) };
    const create = (url: string) => gql(CREATE, { input: { url, eventTypes: ['*'] } }, staff, `${replica.url}/graphql`);
    for (const url of ['http://example.com/hook', 'https://127.0.0.1/hook', 'https://localhost/hook', 'https://10.1.2.3/', 'https://[::1]/', 'https://[::ffff:192.168.0.1]/', 'https://169.254.169.254/latest/meta-data', 'https://[fd00::1]/']) {
      const result = await create(url);
      assert.deepEqual([result.errors?.[0]?.extensions?.code, result.errors?.[0]?.extensions?.field], ['BAD_USER_INPUT', 'url'], url);
    }
    // A name that resolves to a loopback address (this machine's own name, from /etc/hosts).
    const { lookup } = await import('node:dns/promises');
    const hostname = (await import('node:os')).hostname();
    const addresses = (await lookup(hostname, { all: true }).catch(() => [])).map((a) => a.address);
    if (addresses.some((a) => a.startsWith('127.') || a === '::1')) {
      const result = await create(`https://${hostname}/hook`);
      assert.equal(result.errors?.[0]?.extensions?.code, 'BAD_USER_INPUT');
      assert.match(result.errors[0].message, /resolves to .*loopback/);
    }
  });

  it('keeps each tenant’s endpoints and deliveries to itself', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const r = await receiver();
    const ofA = await createEndpoint({ token: a.admin }, r.url('/a'), ['*']);
    const ofB = await createEndpoint({ token: b.admin }, r.url('/b'), ['*']);
    await a.enroll();
    await waitFor('A’s enrolment at A’s endpoint', () => r.delivered('/a').length === 1, WAIT_MS);
    await b.enroll();
    await waitFor('B’s enrolment at B’s endpoint', () => r.delivered('/b').length === 1, WAIT_MS);
    assert.ok(r.at('/b').every((q) => q.body.tenant === b.tenant));
    assert.ok(r.at('/a').every((q) => q.body.tenant === a.tenant));
    const [delivery] = await deliveries({ token: a.admin }, ofA.id);

    const asB = { token: b.admin };
    const listed = await ok<{ webhookEndpoints: { id: string }[] }>('{ webhookEndpoints { id } }', {}, asB);
    assert.deepEqual(listed.webhookEndpoints.map((e) => e.id), [ofB.id]);
    assert.deepEqual(codes(await gql(DELIVERIES, { endpointId: ofA.id }, asB)), ['NOT_FOUND']);
    const input = { url: r.url('/b'), eventTypes: ['*'] };
    assert.deepEqual(codes(await gql('mutation($id: ID!, $input: WebhookEndpointInput!) { updateWebhookEndpoint(id: $id, input: $input) { id } }', { id: ofA.id, input }, asB)), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }', { id: ofA.id }, asB)), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { deleteWebhookEndpoint(id: $id) { id } }', { id: ofA.id }, asB)), ['NOT_FOUND']);
    assert.deepEqual(codes(await gql('mutation($id: ID!) { redeliverWebhook(deliveryId: $id) { id } }', { id: delivery!.id }, asB)), ['NOT_FOUND']);
    // Still A's, untouched.
    assert.equal((await deliveries({ token: a.admin }, ofA.id)).length, 1);
  });
});
