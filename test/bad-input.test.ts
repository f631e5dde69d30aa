import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { auditServer } from 'graphql-http';
import { gatewayUrl, newTenant, sql, subgraphUrls, gatewayCredential } from './support/system';
import { waitFor } from './support/processes';

const endpoint = `${gatewayUrl}/graphql`;
const gatewayLog = join(__dirname, 'artifacts', 'logs', 'gateway.log');

interface RawCase {
  name: string;
  body: string;
  headers?: Record<string, string>;
  method?: string;
  status: number;
  code: string;
  field?: string;
}

const json = (value: unknown) => JSON.stringify(value);
const cursor = (values: unknown[]) => Buffer.from(JSON.stringify(values)).toString('base64url');

async function send(url: string, c: Omit<RawCase, 'status' | 'code'>, token: string) {
  const requestId = randomUUID();
  const response = await fetch(url, {
    method: c.method ?? 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}`, 'x-request-id': requestId, ...c.headers },
    body: c.method === 'GET' ? undefined : c.body,
  });
  const text = await response.text();
  return { status: response.status, contentType: response.headers.get('content-type') ?? '', text, requestId, retryAfter: response.headers.get('retry-after') };
}

/**
 * A GraphQL-shaped JSON error with a code, and nothing internal in it: 4xx when the request itself is
 * refused; 200 when it was executed and a field refused its argument (GraphQL over HTTP: a response
 * with `data` is 2xx).
 */
function assertClientError(c: RawCase, answer: Awaited<ReturnType<typeof send>>) {
  const where = `${c.name}: ${answer.status} ${answer.contentType} ${answer.text.slice(0, 500)}`;
  assert.equal(answer.status, c.status, where);
  assert.match(answer.contentType, /^application\/(graphql-response\+)?json/, where);
  const body = JSON.parse(answer.text) as { data?: unknown; errors?: { message: string; extensions?: Record<string, unknown> }[] };
  assert.equal(body.errors?.[0]?.extensions?.code, c.code, where);
  if (c.field) assert.equal(body.errors?.[0]?.extensions?.field, c.field, where);
  assert.doesNotMatch(answer.text, /stack|\/work\/|node_modules|\.js:\d+|\bat [\w.]+ \(|SELECT |INSERT |UPDATE |127\.0\.0\.1|localhost|<html|<pre/i, where);
}

/** Waits until the gateway logged the request, then checks it logged it below error (pino: 50). */
async function assertLoggedBelowError(requests: Map<string, string>) {
  let missing: string[] = [];
  const lines = await waitFor(
    () => `a log line in gateway.log for each rejected request; none for: ${missing.join(', ')}`,
    () => {
      const logged = readFileSync(gatewayLog, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line) as { level: number; requestId?: string; msg?: string });
      const mine = logged.filter((l) => l.requestId && requests.has(l.requestId));
      missing = [...requests].filter(([id]) => !mine.some((l) => l.requestId === id)).map(([, name]) => name);
      return missing.length === 0 && mine;
    },
  );
  const loud = lines.filter((l) => l.level >= 50);
  assert.deepEqual(loud, [], 'rejected requests are logged below error');
}

describe('bad input at the HTTP edge', () => {
  it('answers every malformed request with a GraphQL error with a code (4xx unless executed), and nothing internal', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const manyTokens = `{ ${Array.from({ length: 3000 }, () => '__typename').join(' ')} }`;
    const enroll = 'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }';
    const cases: RawCase[] = [
      { name: 'syntax error', body: json({ query: '{ members {' }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'syntax error, graphql-response+json', body: json({ query: '{' }), headers: { accept: 'application/graphql-response+json' }, status: 400, code: 'BAD_USER_INPUT' },
      { name: 'token limit', body: json({ query: `${manyTokens} ${manyTokens}` }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'malformed JSON', body: '{"query": "{ tiers { id } }"', status: 400, code: 'BAD_USER_INPUT' },
      { name: 'JSON that is not an object', body: '"{ tiers { id } }"', status: 400, code: 'BAD_USER_INPUT' },
      { name: 'body too large', body: json({ query: `{ tiers { id } } # ${'x'.repeat(300_000)}` }), status: 413, code: 'BAD_USER_INPUT' },
      { name: 'not JSON at all', body: '<q>{ tiers { id } }</q>', headers: { 'content-type': 'application/xml' }, status: 415, code: 'BAD_USER_INPUT' },
      { name: 'unsupported charset', body: json({ query: '{ tiers { id } }' }), headers: { 'content-type': 'application/json; charset=latin1' }, status: 415, code: 'BAD_USER_INPUT' },
      { name: 'unsupported content-encoding', body: json({ query: '{ tiers { id } }' }), headers: { 'content-encoding': 'bogus' }, status: 415, code: 'BAD_USER_INPUT' },
      { name: 'gzip that is not gzip', body: json({ query: '{ tiers { id } }' }), headers: { 'content-encoding': 'gzip' }, status: 400, code: 'BAD_USER_INPUT' },
      { name: 'no query', body: json({ variables: {} }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'unknown operationName', body: json({ query: 'query A { tiers { id } }', operationName: 'B' }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'several unnamed operations', body: json({ query: '{ tiers { id } } { members { totalCount } }' }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'several operations, none chosen', body: json({ query: 'query A { tiers { id } } query B { tiers { id } }' }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'subscription over HTTP', body: json({ query: 'subscription { pointsBalanceChanged { balance } }' }), status: 400, code: 'BAD_USER_INPUT' },
      { name: '1e400 as an Int', body: '{"query":"query($n: Int) { members(first: $n) { totalCount } }","variables":{"n":1e400}}', status: 400, code: 'BAD_USER_INPUT', field: 'n' },
      { name: '1e400 as a Float', body: '{"query":"query($n: Float) { __typename @skip(if: false) }","variables":{"n":-1e400}}', status: 400, code: 'BAD_USER_INPUT' },
      { name: '1e400 as a Float literal', body: json({ query: 'mutation { upsertTier(input: { name: "Huge", rank: 7, qualifyingPoints: 1, earnMultiplier: 1e400 }) { id } }' }), status: 400, code: 'BAD_USER_INPUT', field: 'earnMultiplier' },
      { name: '1e400 as a Float variable', body: `{"query":"mutation($input: TierInput!) { upsertTier(input: $input) { id } }","variables":{"input":{"name":"Huge","rank":7,"qualifyingPoints":1,"earnMultiplier":1e400}}}`, status: 400, code: 'BAD_USER_INPUT', field: 'earnMultiplier' },
      { name: 'unsupported persisted-query version', body: json({ extensions: { persistedQuery: { version: 2, sha256Hash: 'a'.repeat(64) } } }), status: 400, code: 'BAD_USER_INPUT' },
      { name: 'mutation over GET', method: 'GET', body: '', status: 405, code: 'BAD_USER_INPUT' },
      { name: 'NUL byte in a variable', body: json({ query: enroll, variables: { input: { email: `${randomUUID()}@example.com`, name: 'a\u0000b' } } }), status: 400, code: 'BAD_USER_INPUT', field: 'name' },
      { name: 'NUL byte in a literal', body: json({ query: `mutation { enrollMember(input: { email: "${randomUUID()}@example.com", name: "a\\u0000b" }) { id } }` }), status: 400, code: 'BAD_USER_INPUT', field: 'name' },
      { name: 'NUL byte in a query argument', body: json({ query: 'query($q: String) { members(filter: { email: $q }) { totalCount } }', variables: { q: '\u0000' } }), status: 400, code: 'BAD_USER_INPUT', field: 'q' },
      { name: 'lone surrogate in JSON attributes', body: json({ query: enroll, variables: { input: { email: `${randomUUID()}@example.com`, attributes: { k: '\ud800' } } } }), status: 400, code: 'BAD_USER_INPUT', field: 'attributes.k' },
      { name: 'lone surrogate in an attribute key', body: json({ query: enroll, variables: { input: { email: `${randomUUID()}@example.com`, attributes: { '\udc00': 1 } } } }), status: 400, code: 'BAD_USER_INPUT', field: 'attributes' },
      { name: 'NUL byte in an adjustment reason', body: json({ query: 'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id } }', variables: { input: { memberId: member, points: 5, reason: 'r\u0000', idempotencyKey: randomUUID() } } }), status: 400, code: 'BAD_USER_INPUT', field: 'reason' },
      { name: 'forged members cursor', body: json({ query: `{ members(after: "${cursor(['x', 'y'])}") { totalCount } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
      { name: 'forged members cursor, right timestamp, bad id', body: json({ query: `{ members(after: "${cursor([new Date().toISOString(), 'y'])}") { totalCount } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
      { name: 'forged rewards cursor', body: json({ query: `{ rewards(after: "${cursor(['2026-13-45T99:00:00.000Z', randomUUID()])}") { totalCount } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
      { name: 'forged campaigns cursor', body: json({ query: `{ campaigns(after: "${cursor(['x', 'y'])}") { totalCount } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
      { name: 'forged transactions cursor', body: json({ query: `{ member(id: "${member}") { transactions(after: "${cursor(['x'])}") { totalCount } } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
      { name: 'transactions cursor past bigint', body: json({ query: `{ member(id: "${member}") { transactions(after: "${cursor(['99999999999999999999'])}") { totalCount } } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
      { name: 'forged redemptions cursor', body: json({ query: `{ member(id: "${member}") { redemptions(after: "${cursor(['x', 'y'])}") { totalCount } } }` }), status: 200, code: 'BAD_USER_INPUT', field: 'after' },
    ];
    const failures: string[] = [];
    const requests = new Map<string, string>();
    for (const c of cases) {
      const url = c.method === 'GET' ? `${endpoint}?query=${encodeURIComponent('mutation { __typename }')}` : endpoint;
      const answer = await send(url, c, t.admin);
      requests.set(answer.requestId, c.name);
      try {
        assertClientError(c, answer);
      } catch (error) {
        failures.push((error as Error).message.split('\n')[0]!);
      }
    }
    assert.deepEqual(failures, []);
    // Nothing was written: the tenant still has its one member, with no points.
    const members = await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM members WHERE tenant = $1', [t.tenant]);
    assert.equal(members[0]!.n, 1);
    assert.equal(await t.balance(member), 0);
    const tiers = await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM tiers WHERE tenant = $1', [t.tenant]);
    assert.equal(tiers[0]!.n, 0);
    await assertLoggedBelowError(requests);
  });

  it('keeps answering 200 with data for well-formed requests, and 200 for request errors a legacy client asked application/json for', async () => {
    const t = await newTenant();
    const good = await send(endpoint, { name: 'good', body: json({ query: '{ tiers { id } }' }) }, t.admin);
    assert.equal(good.status, 200, good.text);
    const legacy = await send(endpoint, { name: 'legacy', body: json({ query: '{' }), headers: { accept: 'application/json' } }, t.admin);
    assert.equal(legacy.status, 200, legacy.text);
    assert.equal((JSON.parse(legacy.text) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'BAD_USER_INPUT');
  });

  it('passes the GraphQL-over-HTTP audit with no error and no warning', async () => {
    const t = await newTenant();
    const fetchFn = (input: RequestInfo | URL, init: RequestInit = {}) => {
      const headers = new Headers(init.headers);
      headers.set('authorization', `Bearer ${t.admin}`);
      return fetch(input, { ...init, headers });
    };
    const results = await auditServer({ url: endpoint, fetchFn });
    // Notices are MAYs; this gateway refuses GETs without a CSRF-safe header on purpose.
    const notOk = results.filter((r) => r.status === 'warn' || r.status === 'error').map((r) => `${r.id} ${r.status}: ${r.name}: ${'reason' in r ? r.reason : ''}`);
    assert.deepEqual(notOk, []);
  });

  it('answers a path nobody serves with a JSON 404', async () => {
    for (const url of [`${gatewayUrl}/nope`, `${subgraphUrls.members}/nope`]) {
      const response = await fetch(url);
      assert.equal(response.status, 404, url);
      assert.equal(((await response.json()) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'NOT_FOUND');
    }
  });

  it('answers malformed requests to a subgraph with JSON errors, never an HTML page', async () => {
    const credential = await gatewayCredential({ tenant: 'demo', principal: 'test', roles: ['admin'], scopes: [] });
    for (const [name, body, status] of [
      ['malformed JSON', '{"query":', 400],
      ['body too large', json({ query: `{ __typename } # ${'x'.repeat(1_100_000)}` }), 413],
    ] as const) {
      const response = await fetch(`${subgraphUrls.members}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', ...credential }, body });
      const text = await response.text();
      assert.equal(response.status, status, `${name}: ${text.slice(0, 300)}`);
      assert.equal((JSON.parse(text) as { errors: { extensions: { code: string } }[] }).errors[0]!.extensions.code, 'BAD_USER_INPUT', name);
      assert.doesNotMatch(text, /stack|node_modules|<html|\/work\//i, name);
    }
  });
});
