import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { SignJWT } from 'jose';
import { codes, gatewayCredential, gql, newTenant, ok, subgraphUrls, token } from './support/system';

const MEMBER = 'query($id: ID!) { member(id: $id) { id email points { balance } } }';

describe('identity and access', () => {
  it('refuses a request without credentials with UNAUTHENTICATED', async () => {
    const result = await gql('{ tiers { id } }');
    assert.equal(result.status, 401);
    assert.deepEqual(codes(result), ['UNAUTHENTICATED']);
  });

  it('refuses forged, expired and unsigned tokens with UNAUTHENTICATED', async () => {
    const t = await newTenant();
    const forged = await new SignJWT({ tenant: t.tenant, roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime('1h')
      .sign(new TextEncoder().encode('not-the-secret-not-the-secret-not-the-secret'));
    const expired = await token(t.tenant, ['admin'], { expiresIn: Math.floor(Date.now() / 1000) - 60 });
    const [header, payload] = t.admin.split('.');
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    for (const bad of [forged, expired, unsigned, `${header}.${payload}.AAAA`]) {
      const result = await gql('{ tiers { id } }', {}, { token: bad });
      assert.deepEqual(codes(result), ['UNAUTHENTICATED'], bad);
      assert.equal(result.data, undefined);
    }
  });

  it('shows a member token only its own record', async () => {
    const t = await newTenant();
    const mine = await t.enroll({ email: 'me@example.com' });
    const other = await t.enroll();
    const memberToken = await token(t.tenant, ['member'], { memberId: mine });
    const me = await ok<{ me: { id: string; email: string } }>('{ me { id email } }', {}, { token: memberToken });
    assert.deepEqual(me.me, { id: mine, email: 'me@example.com' });
    assert.equal((await ok<{ member: { id: string } }>(MEMBER, { id: mine }, { token: memberToken })).member.id, mine);
    const foreign = await gql(MEMBER, { id: other }, { token: memberToken });
    assert.deepEqual(codes(foreign), ['FORBIDDEN']);
    assert.equal(foreign.data?.member, null);
    assert.deepEqual(codes(await gql('{ members { totalCount } }', {}, { token: memberToken })), ['FORBIDDEN']);
  });

  it('does not let a member token move points', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const memberToken = await token(t.tenant, ['member'], { memberId: member });
    const result = await t.adjust(member, 1000, undefined, { token: memberToken });
    assert.deepEqual(codes(result), ['FORBIDDEN']);
    assert.equal(await t.balance(member), 0);
  });

  it('keeps each tenant invisible to every other tenant', async () => {
    const a = await newTenant();
    const b = await newTenant();
    const memberOfA = await a.enroll({ email: 'shared@example.com', externalId: 'crm-1' });
    await a.adjust(memberOfA, 500);
    // B cannot read, list, find by filter or move points of A's member...
    assert.equal((await ok<{ member: null }>(MEMBER, { id: memberOfA }, { token: b.admin })).member, null);
    const list = await ok<{ members: { totalCount: number } }>(
      '{ all: members { totalCount } byEmail: members(filter: { email: "shared@example.com" }) { totalCount } }',
      {},
      { token: b.admin },
    );
    assert.deepEqual(list, { all: { totalCount: 0 }, byEmail: { totalCount: 0 } });
    assert.deepEqual(codes(await b.adjust(memberOfA, -100)), ['NOT_FOUND']);
    // ...and the same email or CRM id is free in B.
    await b.enroll({ email: 'shared@example.com', externalId: 'crm-1' });
    assert.equal(await a.balance(memberOfA), 500);
  });

  it('lets roles do what docs/api.md gives them, and nothing more', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const as = async (role: string) => ({ token: await token(t.tenant, [role]) });
    assert.deepEqual(codes(await t.adjust(member, 10, undefined, await as('agent'))), []);
    assert.deepEqual(codes(await t.adjust(member, 10, undefined, await as('marketer'))), ['FORBIDDEN']);
    assert.deepEqual(codes(await t.adjust(member, 10, undefined, await as('integration'))), ['FORBIDDEN']);
    const tier = 'mutation { upsertTier(input: { name: "Gold", rank: 1, qualifyingPoints: 100, earnMultiplier: 2 }) { id } }';
    assert.deepEqual(codes(await gql(tier, {}, await as('marketer'))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(tier, {}, { token: t.admin })), []);
    const enroll = 'mutation { enrollMember(input: { email: "new@example.com" }) { id } }';
    assert.deepEqual(codes(await gql(enroll, {}, await as('marketer'))), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql(enroll, {}, await as('integration'))), []);
    assert.equal((await ok<{ member: { id: string } }>(MEMBER, { id: member }, await as('marketer'))).member.id, member);
  });

  it('refuses a direct call to a subgraph without the gateway credential', async () => {
    const t = await newTenant();
    for (const url of Object.values(subgraphUrls)) {
      const plain = await gql('{ __typename }', {}, { token: t.admin }, `${url}/graphql`);
      assert.equal(plain.status, 401, url);
      assert.deepEqual(codes(plain), ['UNAUTHENTICATED']);
    }
    // The credential is verified, not just present.
    const forged = await gql('{ tiers { id } }', {}, { headers: { 'x-loyalty-identity': t.admin } }, `${subgraphUrls.members}/graphql`);
    assert.equal(forged.status, 401);
    // The internal ledger API wants a service, not a user identity forwarded by the gateway.
    const headers = await gatewayCredential({ tenant: t.tenant, principal: 'admin', roles: ['admin'], scopes: [] });
    const internal = await fetch(`${subgraphUrls.members}/internal/ledger/transactions/by-key/x`, { headers });
    assert.equal(internal.status, 403);
  });

  it('is not reachable through the public supergraph: no internal ledger operation exists there', async () => {
    const t = await newTenant();
    const result = await ok<{ __schema: { mutationType: { fields: { name: string }[] } } }>(
      '{ __schema { mutationType { fields { name } } } }',
      {},
      { token: t.admin },
    );
    const names = result.__schema.mutationType.fields.map((f) => f.name).sort();
    assert.deepEqual(names, [
      'activateCampaign', 'activatePendingPoints', 'addRewardCodes', 'adjustPoints', 'cancelRedemption', 'createApiKey', 'createCampaign', 'createReward',
      'createWebhookEndpoint', 'deleteSegment', 'deleteWebhookEndpoint', 'enrollMember', 'eraseMember', 'fulfilRedemption', 'pauseCampaign', 'promoteVariant', 'recordActivity', 'recordReturn',
      'redeemReward', 'redeliverWebhook', 'revokeApiKey', 'rotateWebhookSecret', 'runPointsMaintenance', 'transferPoints', 'updateCampaign',
      'updateConsents', 'updateMember', 'updateProgram', 'updateReward', 'updateWebhookEndpoint', 'upsertSegment', 'upsertTier',
    ]);
  });

  it('lets a partner key read the catalog and nothing else, and refuses it once revoked', async () => {
    const t = await newTenant();
    await t.enroll();
    const created = await ok<{ createApiKey: { apiKey: { id: string; scopes: string[] }; secret: string } }>(
      'mutation { createApiKey(input: { name: "partner", scopes: ["catalog:read"] }) { apiKey { id scopes } secret } }',
      {},
      { token: t.admin },
    );
    const apiKey = created.createApiKey.secret;
    assert.deepEqual(created.createApiKey.apiKey.scopes, ['catalog:read']);
    assert.deepEqual(codes(await gql('{ rewards { totalCount } }', {}, { apiKey })), []);
    assert.deepEqual(codes(await gql('{ members { totalCount } }', {}, { apiKey })), ['FORBIDDEN']);
    assert.deepEqual(codes(await gql('{ tiers { id } }', {}, { apiKey })), ['FORBIDDEN']);
    const revoked = await ok<{ revokeApiKey: { revokedAt: string | null } }>(
      'mutation($id: ID!) { revokeApiKey(id: $id) { revokedAt } }',
      { id: created.createApiKey.apiKey.id },
      { token: t.admin },
    );
    assert.ok(revoked.revokeApiKey.revokedAt);
    // The test system caches key look-ups for 1 s (API_KEY_CACHE_SECONDS; 30 s by default).
    await new Promise((r) => setTimeout(r, 1100));
    assert.deepEqual(codes(await gql('{ rewards { totalCount } }', {}, { apiKey })), ['UNAUTHENTICATED']);
    assert.deepEqual(codes(await gql('{ rewards { totalCount } }', {}, { apiKey: 'lk_made_up' })), ['UNAUTHENTICATED']);
  });
});
