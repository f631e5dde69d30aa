import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, it } from '@jest/globals';
import { resolveSecret } from '@loyalty/kit';
import { freePort, startService, type StartOptions } from './support/processes';
import { codes, gatewayUrl, gql, newTenant, subgraphUrls } from './support/system';


/** A second gateway process over the same subgraphs, with its own settings. */
function startGateway(env: Record<string, string>, options: StartOptions = {}) {
  return startService(
    'gateway',
    {
    MEMBERS_URL: subgraphUrls.members,
    CAMPAIGNS_URL: subgraphUrls.campaigns,
    REWARDS_URL: subgraphUrls.rewards,
    ANALYTICS_URL: subgraphUrls.analytics,
    EVENT_BUS_URL: (JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>).events!,
      ...env,
    },
    options,
  );
}

const children: ChildProcess[] = [];
afterAll(() => children.forEach((child) => child.kill()));

describe('gateway', () => {
  it('rejects operations past the alias limit before they reach a subgraph, without field suggestions', async () => {
    const t = await newTenant();
    const aliases = Array.from({ length: 40 }, (_, i) => `a${i}: tiers { id }`).join(' ');
    const aliasBomb = await gql(`{ ${aliases} }`, {}, { token: t.admin });
    assert.deepEqual(codes(aliasBomb), ['BAD_USER_INPUT']);
    assert.match(aliasBomb.errors![0]!.message, /alias/i);
    const typo = await gql('{ tierz { id } }', {}, { token: t.admin });
    assert.deepEqual(codes(typo), ['BAD_USER_INPUT']);
    assert.doesNotMatch(typo.errors![0]!.message, /Did you mean/);
  });

  it('rejects operations past the depth limit', async () => {
    const gateway = await startGateway({ MAX_QUERY_DEPTH: '3' });
    children.push(gateway.child);
    const t = await newTenant();
    const shallow = await gql('{ tiers { id } }', {}, { token: t.admin }, `${gateway.url}/graphql`);
    assert.equal(shallow.errors, undefined);
    const deep = await gql('{ members { edges { node { transactions { edges { node { id } } } } } } }', {}, { token: t.admin }, `${gateway.url}/graphql`);
    assert.deepEqual(codes(deep), ['BAD_USER_INPUT']);
    assert.match(deep.errors![0]!.message, /depth/i);
  });

  it('answers RATE_LIMITED with HTTP 429 and Retry-After once a principal exceeds its budget', async () => {
    const gateway = await startGateway({ RATE_LIMIT_PER_MINUTE: '3' });
    children.push(gateway.child);
    const t = await newTenant();
    const call = () =>
      fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.admin}` },
        body: JSON.stringify({ query: '{ tiers { id } }' }),
      });
    for (let i = 0; i < 3; i++) {
      const answered = await call();
      assert.equal(answered.status, 200);
      // Every answer says where the principal stands: the budget, what is left, when it resets.
      assert.equal(answered.headers.get('ratelimit-limit'), '3');
      assert.equal(answered.headers.get('ratelimit-remaining'), String(2 - i));
      assert.ok(Number(answered.headers.get('ratelimit-reset')) >= 1 && Number(answered.headers.get('ratelimit-reset')) <= 60);
      assert.equal(answered.headers.get('retry-after'), null);
    }
    const limited = await call();
    assert.equal(limited.status, 429);
    assert.ok(Number(limited.headers.get('retry-after')) >= 1);
    assert.equal(limited.headers.get('ratelimit-limit'), '3');
    assert.equal(limited.headers.get('ratelimit-remaining'), '0');
    assert.equal(limited.headers.get('ratelimit-reset'), limited.headers.get('retry-after'));
    const body = (await limited.json()) as { errors: { extensions: { code: string } }[] };
    assert.equal(body.errors[0]!.extensions.code, 'RATE_LIMITED');
    // Another principal has its own budget.
    const other = await newTenant();
    const otherCall = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${other.admin}` },
      body: JSON.stringify({ query: '{ tiers { id } }' }),
    });
    assert.equal(otherCall.status, 200);
  });

  it('refuses to start in production without JWT_SECRET', async () => {
    const gateway = await startGateway({ NODE_ENV: 'production', JWT_SECRET: '', DATA_DIR: mkdtempSync(join(tmpdir(), 'gw-')) }, { mayExit: true });
    children.push(gateway.child);
    const code = gateway.child.exitCode ?? (await new Promise((r) => gateway.child.once('exit', r)));
    assert.notEqual(code, 0);
    assert.match(gateway.output(), /JWT_SECRET must be set when NODE_ENV=production/);
  });

  it('answers a down subgraph with SERVICE_UNAVAILABLE (HTTP 503, Retry-After), and still serves what other subgraphs hold', async () => {
    // Nothing listens on a port just handed out and released.
    const gateway = await startGateway({ REWARDS_URL: `http://127.0.0.1:${await freePort()}`, SUBGRAPH_TIMEOUT_MS: '2000' }, { degraded: true });
    const t = await newTenant();
    const member = await t.enroll();
    const call = (query: string) =>
      fetch(`${gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${t.admin}` },
        body: JSON.stringify({ query }),
      });
    const down = await call('{ rewards { totalCount } }');
    const body = (await down.json()) as { errors: { message: string; extensions: Record<string, unknown> }[] };
    assert.equal(down.status, 503, JSON.stringify(body));
    assert.ok(Number(down.headers.get('retry-after')) >= 1);
    assert.deepEqual(body.errors.map((e) => e.extensions), [{ code: 'SERVICE_UNAVAILABLE', retryable: true }]);
    assert.doesNotMatch(JSON.stringify(body), /127\.0\.0\.1|ECONNREFUSED|rewards/);
    // A members-only operation does not need rewards.
    const up = await call(`{ member(id: "${member}") { id points { balance } } }`);
    assert.equal(up.status, 200);
    assert.deepEqual(((await up.json()) as { data: unknown }).data, { member: { id: member, points: { balance: 0 } } });
    // Partly answerable: the members part, and the rewards part as SERVICE_UNAVAILABLE, with 200.
    const partial = await call(`{ member(id: "${member}") { id } reward(id: "${member}") { id } }`);
    const partialBody = (await partial.json()) as { data: unknown; errors: { extensions: { code: string } }[] };
    assert.equal(partial.status, 200);
    assert.deepEqual(codes({ status: 200, ...partialBody } as never), ['SERVICE_UNAVAILABLE']);
  });

  it('answers CORS preflights only for the allowed origins, and keeps CSRF prevention for the others', async () => {
    const gateway = await startGateway({ CORS_ORIGINS: 'https://app.example.com, https://admin.example.com' });
    const preflight = (origin: string) =>
      fetch(`${gateway.url}/graphql`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,authorization' },
      });
    const allowed = await preflight('https://app.example.com');
    assert.ok(allowed.status >= 200 && allowed.status < 300, String(allowed.status));
    assert.equal(allowed.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(allowed.headers.get('access-control-allow-headers') ?? '', /authorization/);
    const other = await preflight('https://evil.example.com');
    assert.equal(other.headers.get('access-control-allow-origin'), null);
    // The default gateway allows no cross-origin caller at all.
    assert.equal((await fetch(`${gatewayUrl}/graphql`, { method: 'OPTIONS', headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' } })).headers.get('access-control-allow-origin'), null);
    const t = await newTenant();
    // An actual request from an allowed origin is answered with its CORS header.
    const fromApp = await fetch(`${gateway.url}/graphql`, {
      method: 'POST',
      headers: { origin: 'https://app.example.com', 'content-type': 'application/json', authorization: `Bearer ${t.admin}` },
      body: JSON.stringify({ query: '{ tiers { id } }' }),
    });
    assert.equal(fromApp.status, 200);
    assert.equal(fromApp.headers.get('access-control-allow-origin'), 'https://app.example.com');
    // A simple (non-preflighted) cross-site request is still refused by CSRF prevention.
    const simple = await fetch(`${gateway.url}/graphql?query=${encodeURIComponent('{ tiers { id } }')}`, { headers: { origin: 'https://evil.example.com', authorization: `Bearer ${t.admin}` } });
    assert.equal(simple.status, 400);
    assert.match(await simple.text(), /CSRF|preflight/i);
  });

  it('refuses introspection in production unless INTROSPECTION=true, and allows it in development', async () => {
    const query = '{ __schema { queryType { name } } }';
    const t = await newTenant();
    const production = await startGateway({ NODE_ENV: 'production', JWT_SECRET: process.env.JWT_SECRET!, SERVICE_SECRET: process.env.SERVICE_SECRET! });
    const refused = await gql(query, {}, { token: t.admin }, `${production.url}/graphql`);
    assert.deepEqual(codes(refused), ['BAD_USER_INPUT']);
    assert.match(refused.errors![0]!.message, /introspection/i);
    assert.equal((await gql(query, {}, { token: t.admin })).errors, undefined, 'on by default in development');
    const optedIn = await startGateway({ NODE_ENV: 'production', INTROSPECTION: 'true', JWT_SECRET: process.env.JWT_SECRET!, SERVICE_SECRET: process.env.SERVICE_SECRET! });
    assert.equal((await gql(query, {}, { token: t.admin }, `${optedIn.url}/graphql`)).errors, undefined);
  });

  it('generates a secret once outside production and keeps it in the data directory', () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'secrets-'));
    try {
      const first = resolveSecret('JWT_SECRET', undefined, { production: false, dataDir });
      assert.equal(resolveSecret('JWT_SECRET', undefined, { production: false, dataDir }), first);
      assert.notEqual(resolveSecret('SERVICE_SECRET', undefined, { production: false, dataDir }), first);
      assert.equal(resolveSecret('JWT_SECRET', 'from-the-environment', { production: true, dataDir }), 'from-the-environment');
      assert.throws(() => resolveSecret('JWT_SECRET', undefined, { production: true, dataDir }), /must be set/);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
