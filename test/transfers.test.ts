import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { afterEach, describe, it } from '@jest/globals';
import type { Client } from 'graphql-ws';
import { IDENTITY_HEADER, serviceIdentity, signIdentity } from '@loyalty/kit';
import { assertLedger } from './support/ledger';
import { feed, registered, wsClient } from './support/subscriptions';
import { codes, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token, type Caller, type GraphQLResponse } from './support/system';

type Tenant = Awaited<ReturnType<typeof newTenant>>;

const TRANSFER = `mutation($input: TransferInput!) {
  transferPoints(input: $input) { id type points balanceAfter reference expiresAt }
}`;
interface Transferred {
  transferPoints: { id: string; type: string; points: number; balanceAfter: number; reference: string; expiresAt: string | null };
}

const transfer = (t: Tenant, input: { fromMemberId: string; toMemberId: string; points: number; idempotencyKey?: string }, caller: Caller = { token: t.admin }) =>
  gql<Transferred>(TRANSFER, { input: { idempotencyKey: randomUUID(), ...input } }, caller);

async function transferred(t: Tenant, input: Parameters<typeof transfer>[1], caller?: Caller): Promise<Transferred['transferPoints']> {
  const result = await transfer(t, input, caller);
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
  return result.data!.transferPoints;
}

async function credit(t: Tenant, memberId: string, points: number, expiresAt?: Date) {
  const result = await gql(
    'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id } }',
    { input: { memberId, points, reason: 'test', idempotencyKey: randomUUID(), ...(expiresAt ? { expiresAt: expiresAt.toISOString() } : {}) } },
    { token: t.admin },
  );
  assert.equal(result.errors, undefined, JSON.stringify(result.errors));
}

const account = async (t: Tenant, memberId: string) =>
  (
    await ok<{ member: { points: { balance: number; pending: number; lifetimeEarned: number } } }>(
      'query($id: ID!) { member(id: $id) { points { balance pending lifetimeEarned } } }',
      { id: memberId },
      { token: t.admin },
    )
  ).member.points;

/** The open lots of a member, soonest expiry first: what it can spend and until when. */
const lots = (memberId: string) =>
  sql<{ remaining: number; expires_at: Date | null }>(
    'members',
    `SELECT remaining, expires_at FROM point_lots WHERE member_id = $1 AND remaining > 0 ORDER BY expires_at ASC NULLS LAST, remaining`,
    [memberId],
  );

/** Everything a refused transfer must not have written, for the tenant. */
const written = async (tenant: string) => {
  const [row] = await sql<{ transfers: number; keys: number; outbox: number }>(
    'members',
    `SELECT (SELECT count(*)::int FROM ledger_entries WHERE tenant = $1 AND type = 'TRANSFER') AS transfers,
            (SELECT count(*)::int FROM idempotency_keys WHERE tenant = $1) AS keys,
            (SELECT count(*)::int FROM outbox WHERE tenant = $1) AS outbox`,
    [tenant],
  );
  const [audit] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM audit_entries WHERE tenant = $1 AND action = 'transferPoints'`, [tenant]);
  return { ...row!, audit: audit!.n };
};

const field = (result: GraphQLResponse) => result.errors?.[0]?.extensions?.field;

const day = 86_400_000;

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map(async (c) => c.dispose()));
});

describe('transferPoints', () => {
  it('moves spendable points in one TRANSFER debit and credit under one key, answering with the debit', async () => {
    const t = await newTenant();
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    await credit(t, alice, 300);
    await credit(t, bob, 20);

    const debit = await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 120 });
    assert.deepEqual({ type: debit.type, points: debit.points, balanceAfter: debit.balanceAfter, reference: debit.reference }, {
      type: 'TRANSFER',
      points: -120,
      balanceAfter: 180,
      reference: bob,
    });
    assert.deepEqual(await account(t, alice), { balance: 180, pending: 0, lifetimeEarned: 300 }, "the sender's lifetime total stays what it earned");
    assert.deepEqual(await account(t, bob), { balance: 140, pending: 0, lifetimeEarned: 20 }, 'received points are not earned');

    const entries = await sql<{ member_id: string; type: string; points: number; reference: string; idempotency_key: string; source: string }>(
      'members',
      `SELECT member_id, type, points, reference, idempotency_key, source FROM ledger_entries WHERE tenant = $1 AND type = 'TRANSFER' ORDER BY points`,
      [t.tenant],
    );
    assert.equal(entries.length, 2);
    assert.deepEqual(entries.map((e) => [e.member_id, e.points, e.reference]), [
      [alice, -120, bob],
      [bob, 120, alice],
    ]);
    assert.equal(entries[0]!.idempotency_key, entries[1]!.idempotency_key, 'one key for both sides');
    assert.equal(entries[0]!.source, `api:admin@${t.tenant}`);

    // Both members see the transfer in their history.
    const history = async (id: string) =>
      (await ok<{ member: { transactions: { edges: { node: { type: string; points: number; reference: string } }[] } } }>(
        'query($id: ID!) { member(id: $id) { transactions(first: 1) { edges { node { type points reference } } } } }',
        { id },
        { token: t.admin },
      )).member.transactions.edges.map((e) => e.node);
    assert.deepEqual(await history(alice), [{ type: 'TRANSFER', points: -120, reference: bob }]);
    assert.deepEqual(await history(bob), [{ type: 'TRANSFER', points: 120, reference: alice }]);

    // One balance event per member, so both see their balance change live.
    const events = await sql<{ key: string; delta: number; type: string }>(
      'members',
      `SELECT key, (payload->>'delta')::int AS delta, payload->'transaction'->>'type' AS type FROM outbox
       WHERE tenant = $1 AND type = 'POINTS_BALANCE_CHANGED' AND payload->'transaction'->>'type' = 'TRANSFER' ORDER BY id`,
      [t.tenant],
    );
    assert.deepEqual(events.map((e) => [e.key, e.delta]), [
      [alice, -120],
      [bob, 120],
    ]);

    const [audit] = await sql<{ actor: string; target_id: string; after: Record<string, unknown> }>(
      'members',
      `SELECT actor, target_id, after FROM audit_entries WHERE tenant = $1 AND action = 'transferPoints'`,
      [t.tenant],
    );
    assert.equal(audit!.actor, `admin@${t.tenant}`);
    assert.equal(audit!.target_id, alice);
    assert.deepEqual({ transactionId: audit!.after.transactionId, toMemberId: audit!.after.toMemberId, points: audit!.after.points }, { transactionId: debit.id, toMemberId: bob, points: 120 });
    await assertLedger(alice, { balance: 180, pending: 0 });
    await assertLedger(bob, { balance: 140, pending: 0 });
  });

  it("hands the sender's expiry dates on: soonest-expiring points go first, each keeps its date", async () => {
    const t = await newTenant();
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    const soon = new Date(Date.now() + 10 * day);
    const later = new Date(Date.now() + 40 * day);
    await credit(t, alice, 50); // never expires
    await credit(t, alice, 30, later);
    await credit(t, alice, 20, soon);

    const debit = await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 60 });
    assert.equal(debit.points, -60);
    const received = await lots(bob);
    assert.deepEqual(
      received.map((l) => [l.remaining, l.expires_at?.toISOString() ?? null]),
      [
        [20, soon.toISOString()],
        [30, later.toISOString()],
        [10, null],
      ],
      'the 20 expiring soonest, then the 30, then 10 that never expire',
    );
    assert.deepEqual(
      (await lots(alice)).map((l) => [l.remaining, l.expires_at]),
      [[40, null]],
      'the sender keeps what expires last',
    );
    const [creditEntry] = await sql<{ expires_at: Date }>('members', `SELECT expires_at FROM ledger_entries WHERE member_id = $1 AND type = 'TRANSFER'`, [bob]);
    assert.equal(creditEntry!.expires_at.toISOString(), soon.toISOString(), 'the credit shows the soonest expiry it received');
    const next = await ok<{ member: { points: { nextExpiry: { points: number; expiresAt: string } } } }>(
      'query($id: ID!) { member(id: $id) { points { nextExpiry { points expiresAt } } } }',
      { id: bob },
      { token: t.admin },
    );
    assert.deepEqual(next.member.points.nextExpiry, { points: 20, expiresAt: soon.toISOString() });
    await assertLedger(alice, { balance: 40, pending: 0 });
    await assertLedger(bob, { balance: 60, pending: 0 });
  });

  it('never transfers pending points', async () => {
    const t = await newTenant();
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    const created = await ok<{ createCampaign: { id: string } }>(
      'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
      { input: { name: 'Held', rules: [{ name: 'held', trigger: 'PURCHASE', calculation: 'FIXED', points: 40, pendingDays: 7 }] } },
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });
    await ok(
      'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }',
      { input: { memberId: alice, type: 'PURCHASE', amount: 1000, currency: 'EUR', orderId: 'o-1', idempotencyKey: randomUUID() } },
      { token: t.admin },
    );
    await credit(t, alice, 10);
    assert.deepEqual(await account(t, alice), { balance: 10, pending: 40, lifetimeEarned: 50 });

    const before = await written(t.tenant);
    const refused = await transfer(t, { fromMemberId: alice, toMemberId: bob, points: 11 });
    assert.deepEqual(codes(refused), ['INSUFFICIENT_POINTS']);
    assert.equal(field(refused), 'points');
    assert.deepEqual(await written(t.tenant), before, 'nothing written');

    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 10 });
    assert.deepEqual(await account(t, alice), { balance: 0, pending: 40, lifetimeEarned: 50 });
    assert.deepEqual(await account(t, bob), { balance: 10, pending: 0, lifetimeEarned: 0 });
    await assertLedger(alice, { balance: 0, pending: 40 });
    await assertLedger(bob, { balance: 10, pending: 0 });
  });

  it("does not count toward the receiver's tier, nor change the sender's", async () => {
    const t = await newTenant();
    for (const tier of [
      { name: 'Blue', rank: 0, qualifyingPoints: 0, earnMultiplier: 1 },
      { name: 'Gold', rank: 1, qualifyingPoints: 100, earnMultiplier: 2 },
    ]) {
      await ok('mutation($input: TierInput!) { upsertTier(input: $input) { id } }', { input: tier }, { token: t.admin });
    }
    const created = await ok<{ createCampaign: { id: string } }>(
      'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }',
      { input: { name: 'Earn', rules: [{ name: 'earn', trigger: 'PURCHASE', calculation: 'FIXED', points: 150 }] } },
      { token: t.admin },
    );
    await ok('mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: created.createCampaign.id }, { token: t.admin });
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    await ok(
      'mutation($input: ActivityInput!) { recordActivity(input: $input) { pointsEarned } }',
      { input: { memberId: alice, type: 'PURCHASE', amount: 1000, currency: 'EUR', idempotencyKey: randomUUID() } },
      { token: t.admin },
    );
    const standing = async (id: string) =>
      (await ok<{ member: { tier: { name: string }; tierProgress: { qualifyingPoints: number } } }>(
        'query($id: ID!) { member(id: $id) { tier { name } tierProgress { qualifyingPoints } } }',
        { id },
        { token: t.admin },
      )).member;
    assert.deepEqual(await standing(alice), { tier: { name: 'Gold' }, tierProgress: { qualifyingPoints: 150 } });

    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 150 });
    assert.deepEqual(await standing(bob), { tier: { name: 'Blue' }, tierProgress: { qualifyingPoints: 0 } }, '150 received points qualify for nothing');
    assert.deepEqual(await standing(alice), { tier: { name: 'Gold' }, tierProgress: { qualifyingPoints: 150 } }, 'what the sender earned still qualifies');
    const review = await ok<{ runPointsMaintenance: { tiersChanged: number } }>('mutation { runPointsMaintenance { tiersChanged } }', {}, { token: t.admin });
    assert.equal(review.runPointsMaintenance.tiersChanged, 0);
    assert.deepEqual(await standing(bob), { tier: { name: 'Blue' }, tierProgress: { qualifyingPoints: 0 } }, 'nor does a review count them');
  });

  it("keeps to the program's daily limits per sending member", async () => {
    const t = await newTenant();
    const [alice, bob, carol] = [await t.enroll(), await t.enroll(), await t.enroll()];
    await credit(t, alice, 1000);
    await credit(t, carol, 1000);
    const program = await ok<{ program: { transfers: { maxPointsPerDay: number | null; maxTransfersPerDay: number | null } } }>(
      '{ program { transfers { maxPointsPerDay maxTransfersPerDay } } }',
      {},
      { token: t.admin },
    );
    assert.deepEqual(program.program.transfers, { maxPointsPerDay: null, maxTransfersPerDay: null }, 'no limits by default');
    const updated = await ok<{ updateProgram: { transfers: { maxPointsPerDay: number; maxTransfersPerDay: number } } }>(
      'mutation { updateProgram(input: { transfers: { maxPointsPerDay: 100, maxTransfersPerDay: 3 } }) { transfers { maxPointsPerDay maxTransfersPerDay } } }',
      {},
      { token: t.admin },
    );
    assert.deepEqual(updated.updateProgram.transfers, { maxPointsPerDay: 100, maxTransfersPerDay: 3 });

    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 60 });
    const before = await written(t.tenant);
    const overPoints = await transfer(t, { fromMemberId: alice, toMemberId: bob, points: 41 });
    assert.deepEqual(codes(overPoints), ['BAD_USER_INPUT']);
    assert.equal(field(overPoints), 'points');
    assert.match(overPoints.errors![0]!.message, /40 can still be sent today/);
    assert.deepEqual(await written(t.tenant), before, 'nothing written');
    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 30 });
    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 10 });
    const overCount = await transfer(t, { fromMemberId: alice, toMemberId: bob, points: 1 });
    assert.deepEqual(codes(overCount), ['BAD_USER_INPUT']);
    assert.match(overCount.errors![0]!.message, /3 transfers/);
    // Limits are per sender: another member's day is its own, and receiving uses up nothing.
    await transferred(t, { fromMemberId: carol, toMemberId: alice, points: 100 });
    assert.deepEqual(codes(await transfer(t, { fromMemberId: alice, toMemberId: carol, points: 1 })), ['BAD_USER_INPUT']);
    assert.equal(await t.balance(alice), 1000 - 100 + 100);

    // A limit set is validated: at least 1.
    const zero = await gql('mutation { updateProgram(input: { transfers: { maxPointsPerDay: 0 } }) { timeZone } }', {}, { token: t.admin });
    assert.deepEqual(codes(zero), ['BAD_USER_INPUT']);
    assert.equal(field(zero), 'transfers.maxPointsPerDay');
    // Lifting the limits (the whole policy, omitted limits null) lets the member send again today.
    await ok('mutation { updateProgram(input: { transfers: {} }) { timeZone } }', {}, { token: t.admin });
    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 500 });
  });

  it('replays the same request with the same key, and refuses the key for another request', async () => {
    const t = await newTenant();
    const [alice, bob, carol] = [await t.enroll(), await t.enroll(), await t.enroll()];
    await credit(t, alice, 100);
    const idempotencyKey = randomUUID();
    const first = await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 40, idempotencyKey });
    const again = await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 40, idempotencyKey });
    assert.deepEqual(again, first, 'the first answer, nothing moved again');
    assert.equal(await t.balance(alice), 60);
    assert.equal(await t.balance(bob), 40);
    for (const other of [
      { fromMemberId: alice, toMemberId: bob, points: 41 },
      { fromMemberId: alice, toMemberId: carol, points: 40 },
    ]) {
      const conflict = await transfer(t, { ...other, idempotencyKey });
      assert.deepEqual(codes(conflict), ['IDEMPOTENCY_CONFLICT']);
      assert.equal(field(conflict), 'idempotencyKey');
    }
    // The public API's keys are one namespace: an adjustment's key is not a transfer's.
    assert.deepEqual(codes(await t.adjust(alice, 5, idempotencyKey)), ['IDEMPOTENCY_CONFLICT']);

    // Concurrent twins: one moves, the others replay it.
    const twinKey = randomUUID();
    const twins = await Promise.all(Array.from({ length: 10 }, () => transfer(t, { fromMemberId: alice, toMemberId: bob, points: 5, idempotencyKey: twinKey })));
    assert.deepEqual(new Set(twins.map((r) => r.data?.transferPoints.id)).size, 1, JSON.stringify(twins.map((r) => r.errors)));
    assert.equal(await t.balance(alice), 55);
    const [{ n }] = (await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM ledger_entries WHERE idempotency_key = $1`, [twinKey])) as [{ n: number }];
    assert.equal(n, 2, 'one debit and one credit');
    // A refused attempt does not use up its key.
    const retryKey = randomUUID();
    assert.deepEqual(codes(await transfer(t, { fromMemberId: alice, toMemberId: bob, points: 1000, idempotencyKey: retryKey })), ['INSUFFICIENT_POINTS']);
    await credit(t, alice, 1000);
    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 1000, idempotencyKey: retryKey });
  });

  it('refuses bad input naming the field, and writes nothing', async () => {
    const t = await newTenant();
    const other = await newTenant();
    const [alice, bob, suspended, erased] = [await t.enroll(), await t.enroll(), await t.enroll(), await t.enroll()];
    const stranger = await other.enroll();
    await credit(t, alice, 100);
    await credit(t, suspended, 100);
    await ok('mutation($id: ID!) { updateMember(id: $id, input: { status: SUSPENDED }) { status } }', { id: suspended }, { token: t.admin });
    await ok('mutation($id: ID!) { eraseMember(id: $id) { status } }', { id: erased }, { token: t.admin });
    const before = await written(t.tenant);
    const cases: [string, Record<string, unknown>, string, string][] = [
      ['0 points', { fromMemberId: alice, toMemberId: bob, points: 0 }, 'BAD_USER_INPUT', 'points'],
      ['negative points', { fromMemberId: alice, toMemberId: bob, points: -5 }, 'BAD_USER_INPUT', 'points'],
      ['too many points', { fromMemberId: alice, toMemberId: bob, points: 100_000_001 }, 'BAD_USER_INPUT', 'points'],
      ['more than spendable', { fromMemberId: alice, toMemberId: bob, points: 101 }, 'INSUFFICIENT_POINTS', 'points'],
      ['to itself', { fromMemberId: alice, toMemberId: alice, points: 1 }, 'BAD_USER_INPUT', 'toMemberId'],
      ['a malformed sender', { fromMemberId: 'nope', toMemberId: bob, points: 1 }, 'BAD_USER_INPUT', 'fromMemberId'],
      ['a malformed receiver', { fromMemberId: alice, toMemberId: 'nope', points: 1 }, 'BAD_USER_INPUT', 'toMemberId'],
      ['an empty key', { fromMemberId: alice, toMemberId: bob, points: 1, idempotencyKey: '' }, 'BAD_USER_INPUT', 'idempotencyKey'],
      ["another tenant's receiver", { fromMemberId: alice, toMemberId: stranger, points: 1 }, 'NOT_FOUND', 'toMemberId'],
      ["another tenant's sender", { fromMemberId: stranger, toMemberId: bob, points: 1 }, 'NOT_FOUND', 'fromMemberId'],
      ['an unknown receiver', { fromMemberId: alice, toMemberId: randomUUID(), points: 1 }, 'NOT_FOUND', 'toMemberId'],
      ['an erased receiver', { fromMemberId: alice, toMemberId: erased, points: 1 }, 'NOT_FOUND', 'toMemberId'],
      ['an erased sender', { fromMemberId: erased, toMemberId: alice, points: 1 }, 'NOT_FOUND', 'fromMemberId'],
      ['a suspended receiver', { fromMemberId: alice, toMemberId: suspended, points: 1 }, 'NOT_ELIGIBLE', 'toMemberId'],
      ['a suspended sender', { fromMemberId: suspended, toMemberId: alice, points: 1 }, 'NOT_ELIGIBLE', 'fromMemberId'],
    ];
    for (const [name, input, code, at] of cases) {
      const result = await gql(TRANSFER, { input: { idempotencyKey: randomUUID(), ...input } }, { token: t.admin });
      assert.deepEqual(codes(result), [code], name);
      assert.equal(field(result), at, name);
      assert.doesNotMatch(JSON.stringify(result.errors), /SELECT|stack|\.ts:/, name);
    }
    assert.deepEqual(await written(t.tenant), before, 'nothing written');
    assert.deepEqual((await written(other.tenant)).transfers, 0);
    assert.equal(await t.balance(alice), 100);
    assert.equal(await other.balance(stranger), 0);
  });

  it('lets a member send its own points only, and agents and admins any member of their tenant', async () => {
    const t = await newTenant();
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    await credit(t, alice, 100);
    await credit(t, bob, 100);
    const own = { token: await token(t.tenant, ['member'], { memberId: alice }) };
    const debit = await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 10 }, own);
    assert.equal(debit.balanceAfter, 90);
    assert.deepEqual(codes(await transfer(t, { fromMemberId: bob, toMemberId: alice, points: 10 }, own)), ['FORBIDDEN'], "another member's points");
    for (const role of ['marketer', 'integration']) {
      assert.deepEqual(codes(await transfer(t, { fromMemberId: alice, toMemberId: bob, points: 1 }, { token: await token(t.tenant, [role]) })), ['FORBIDDEN'], role);
    }
    await transferred(t, { fromMemberId: bob, toMemberId: alice, points: 5 }, { token: await token(t.tenant, ['agent']) });
    // A member acting on itself writes no audit entry (as for its other actions); staff do.
    const audit = await sql<{ actor: string }>('members', `SELECT actor FROM audit_entries WHERE tenant = $1 AND action = 'transferPoints'`, [t.tenant]);
    assert.deepEqual(audit.map((a) => a.actor), [`agent@${t.tenant}`]);
    assert.equal(await t.balance(alice), 95);
    assert.equal(await t.balance(bob), 105);
  });

  it("updates both members' balances live: each gets its side of the transfer", async () => {
    const t = await newTenant();
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    await credit(t, alice, 100);
    const BALANCE = 'subscription { pointsBalanceChanged { balance delta transaction { id type points balanceAfter reference } } }';
    type Event = { pointsBalanceChanged: { balance: number; delta: number; transaction: { id: string; type: string; points: number; balanceAfter: number; reference: string } } };
    const subscribe = async (memberId: string) => {
      const client = wsClient(await token(t.tenant, ['member'], { memberId }));
      clients.push(client);
      return feed<Event>(client, BALANCE);
    };
    const [sent, received] = [await subscribe(alice), await subscribe(bob)];
    await registered(2);
    const debit = await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 30 });
    const [mine] = await sent.until(1);
    const [theirs] = await received.until(1);
    assert.deepEqual(mine!.pointsBalanceChanged, { balance: 70, delta: -30, transaction: { id: debit.id, type: 'TRANSFER', points: -30, balanceAfter: 70, reference: bob } });
    assert.deepEqual(
      { ...theirs!.pointsBalanceChanged, transaction: { ...theirs!.pointsBalanceChanged.transaction, id: undefined } },
      { balance: 30, delta: 30, transaction: { id: undefined, type: 'TRANSFER', points: 30, balanceAfter: 30, reference: alice } },
    );
  });

  it('keeps the reports consistent: transfers are neither issued nor redeemed points', async () => {
    const t = await newTenant();
    const [alice, bob] = [await t.enroll(), await t.enroll()];
    await credit(t, alice, 500);
    await transferred(t, { fromMemberId: alice, toMemberId: bob, points: 200 });
    await transferred(t, { fromMemberId: bob, toMemberId: alice, points: 50 });
    const headers = { [IDENTITY_HEADER]: await signIdentity(serviceIdentity('test', '*'), serviceSecret) };
    // Caught up: every outbox row of the tenant relayed, and analytics past the bus's head.
    for (;;) {
      const [{ unpublished }] = (await sql<{ unpublished: number }>('members', 'SELECT count(*)::int AS unpublished FROM outbox WHERE tenant = $1 AND published_at IS NULL', [t.tenant])) as [
        { unpublished: number },
      ];
      const [{ head }] = (await sql<{ head: string }>('events', 'SELECT COALESCE(max(position), 0)::text AS head FROM bus_events')) as [{ head: string }];
      const { position } = (await (await fetch(`${subgraphUrls.analytics}/internal/analytics/position`, { headers })).json()) as { position: string };
      if (unpublished === 0 && BigInt(position) >= BigInt(head)) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const stats = await ok<{ programStats: { pointsIssued: number; pointsRedeemed: number; pointsOutstanding: number; activeMembers: number } }>(
      '{ programStats { pointsIssued pointsRedeemed pointsOutstanding activeMembers } }',
      {},
      { token: t.admin },
    );
    assert.deepEqual(stats.programStats, { pointsIssued: 500, pointsRedeemed: 0, pointsOutstanding: 500, activeMembers: 2 });
  });

  it('never deadlocks nor overdraws under concurrent transfers A→B and B→A', async () => {
    const t = await newTenant();
    const [alice, bob, carol] = [await t.enroll(), await t.enroll(), await t.enroll()];
    // Both start with less than their side sends in all: some transfers must be refused.
    await credit(t, alice, 100);
    await credit(t, bob, 100);
    await credit(t, carol, 50, new Date(Date.now() + 30 * day));
    const requests = Array.from({ length: 48 }, (_, i) => {
      const [from, to] = [
        [alice, bob],
        [bob, alice],
        [carol, alice],
        [bob, carol],
      ][i % 4]!;
      return { fromMemberId: from!, toMemberId: to!, points: 7 + (i % 5) };
    });
    const results = await Promise.all(requests.map((input) => transfer(t, input)));
    const unexpected = results.filter((r) => r.errors && codes(r).join() !== 'INSUFFICIENT_POINTS');
    assert.deepEqual(unexpected.map((r) => r.errors), [], 'no deadlock, no internal error: only INSUFFICIENT_POINTS refusals');
    const done = requests.filter((_, i) => !results[i]!.errors);
    assert.ok(done.length >= 24, `${done.length} of ${requests.length} transfers went through`);

    const expected = new Map([
      [alice, 100],
      [bob, 100],
      [carol, 50],
    ]);
    for (const { fromMemberId, toMemberId, points } of done) {
      expected.set(fromMemberId, expected.get(fromMemberId)! - points);
      expected.set(toMemberId, expected.get(toMemberId)! + points);
    }
    for (const [member, balance] of expected) {
      assert.ok(balance >= 0);
      await assertLedger(member, { balance, pending: 0 });
    }
    const [ledger] = await sql<{ transfers: number; net: number; total: number; lots: number }>(
      'members',
      `SELECT count(*) FILTER (WHERE type = 'TRANSFER')::int AS transfers,
              COALESCE(sum(points) FILTER (WHERE type = 'TRANSFER'), 0)::int AS net,
              (SELECT sum(balance)::int FROM point_accounts WHERE tenant = $1) AS total,
              (SELECT COALESCE(sum(remaining), 0)::int FROM point_lots WHERE tenant = $1) AS lots
       FROM ledger_entries WHERE tenant = $1`,
      [t.tenant],
    );
    assert.deepEqual(ledger, { transfers: 2 * done.length, net: 0, total: 250, lots: 250 }, 'each transfer is one debit and one credit; no point made or lost');
    // Carol's dated points keep their date wherever they went; none got a longer life.
    const [dated] = await sql<{ points: number }>('members', 'SELECT COALESCE(sum(remaining), 0)::int AS points FROM point_lots WHERE tenant = $1 AND expires_at IS NOT NULL', [t.tenant]);
    assert.ok(dated!.points <= 50);
  });
});
