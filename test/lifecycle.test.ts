import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from '@jest/globals';
import { createLedgerClient, DomainError } from '@loyalty/kit';
import { assertLedger } from './support/ledger';
import { waitFor } from './support/processes';
import { codes, gql, newTenant, ok, serviceSecret, sql, subgraphUrls, token } from './support/system';

const ledger = createLedgerClient({ url: subgraphUrls.members, serviceSecret, service: 'campaigns' });
const inSeconds = (s: number) => new Date(Date.now() + s * 1000).toISOString();

const ACCOUNT = `query($id: ID!) { member(id: $id) { points { balance pending expiring(withinDays: 1) nextExpiry { points expiresAt } } } }`;
interface Account {
  balance: number;
  pending: number;
  expiring: number;
  nextExpiry: { points: number; expiresAt: string } | null;
}

const adjustWith = (t: Awaited<ReturnType<typeof newTenant>>, input: Record<string, unknown>) =>
  gql<{ adjustPoints: { id: string; points: number; balanceAfter: number; expiresAt: string } }>(
    'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id points balanceAfter expiresAt } }',
    { input: { reason: 'test', idempotencyKey: randomUUID(), ...input } },
    { token: t.admin },
  );

describe('points lifecycle', () => {
  it('refuses an expiresAt in the past or on a debit, and writes nothing', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await t.adjust(member, 100);
    const past = await adjustWith(t, { memberId: member, points: 10, expiresAt: new Date(Date.now() - 60_000).toISOString() });
    assert.deepEqual(codes(past), ['BAD_USER_INPUT']);
    assert.equal(past.errors?.[0]?.extensions?.field, 'expiresAt');
    const debit = await adjustWith(t, { memberId: member, points: -10, expiresAt: inSeconds(3600) });
    assert.deepEqual(codes(debit), ['BAD_USER_INPUT']);
    assert.equal(debit.errors?.[0]?.extensions?.field, 'expiresAt');
    await assertLedger(member, { balance: 100, pending: 0 });
  });

  it('takes expired points out of the balance at once, never spends them, and books them once', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const expiresAt = inSeconds(2);
    const credit = await adjustWith(t, { memberId: member, points: 100, expiresAt });
    assert.equal(credit.errors, undefined);
    assert.equal(new Date(credit.data!.adjustPoints.expiresAt).getTime(), new Date(expiresAt).getTime());
    await t.adjust(member, 50);

    const before = (await ok<{ member: { points: Account } }>(ACCOUNT, { id: member }, { token: t.admin })).member.points;
    assert.equal(before.balance, 150);
    assert.equal(before.expiring, 100);
    assert.equal(before.nextExpiry?.points, 100);
    assert.equal(new Date(before.nextExpiry.expiresAt).getTime(), new Date(expiresAt).getTime());

    // No job runs in the test system: the read alone must drop the expired lot.
    await waitFor('the expired points to leave the balance', async () => (await t.balance(member)) === 50);
    const after = (await ok<{ member: { points: Account } }>(ACCOUNT, { id: member }, { token: t.admin })).member.points;
    assert.deepEqual(after, { balance: 50, pending: 0, expiring: 0, nextExpiry: null });

    // A debit can only draw on the 50 live points, even though 100 expired ones are not booked yet.
    assert.deepEqual(codes(await t.adjust(member, -60)), ['INSUFFICIENT_POINTS']);
    const spent = await t.adjust(member, -20);
    assert.equal(spent.data?.adjustPoints.balanceAfter, 30);

    // The debit booked the expiry first, under the member's lock: one EXPIRE entry, before it.
    const entries = await sql<{ type: string; points: number; balance_after: number }>(
      'members',
      'SELECT type, points, balance_after FROM ledger_entries WHERE member_id = $1 ORDER BY seq',
      [member],
    );
    assert.deepEqual(
      entries.map((e) => [e.type, e.points, e.balance_after]),
      [
        ['ADJUST', 100, 100],
        ['ADJUST', 50, 150],
        ['EXPIRE', -100, 50],
        ['ADJUST', -20, 30],
      ],
    );
    const run = await ok<{ runPointsMaintenance: { pointsExpired: number } }>('mutation { runPointsMaintenance { pointsExpired } }', {}, { token: t.admin });
    assert.equal(run.runPointsMaintenance.pointsExpired, 0);
    await assertLedger(member, { balance: 30, pending: 0 });
  });

  it('books due expiry in runPointsMaintenance once, however many runs race, while debits go on', async () => {
    const t = await newTenant();
    const members = await Promise.all(Array.from({ length: 6 }, () => t.enroll()));
    for (const member of members) {
      for (let i = 0; i < 4; i++) assert.equal((await adjustWith(t, { memberId: member, points: 10, expiresAt: inSeconds(2) })).errors, undefined);
      await t.adjust(member, 100);
    }
    await waitFor('the lots to expire', async () => (await t.balance(members.at(-1)!)) === 100);

    const runs = Array.from({ length: 4 }, () =>
      ok<{ runPointsMaintenance: { pointsExpired: number } }>('mutation { runPointsMaintenance { pointsExpired } }', {}, { token: t.admin }),
    );
    const debits = members.map((member) => t.adjust(member, -30));
    const [results, spent] = await Promise.all([Promise.all(runs), Promise.all(debits)]);
    assert.ok(spent.every((d) => d.data?.adjustPoints.balanceAfter === 70), JSON.stringify(spent));
    // Whoever booked a lot (a run or a member's own debit), each lot expired exactly once.
    const booked = results.reduce((sum, r) => sum + r.runPointsMaintenance.pointsExpired, 0);
    assert.ok(booked <= 6 * 40);
    const [expiries] = await sql<{ entries: number; points: number; lots: number }>(
      'members',
      `SELECT count(DISTINCT e.id)::int AS entries, -sum(DISTINCT e.points)::int AS points, count(a.lot_id)::int AS lots
       FROM ledger_entries e JOIN lot_allocations a ON a.entry_id = e.id WHERE e.type = 'EXPIRE' AND e.tenant = $1`,
      [t.tenant],
    );
    assert.equal(expiries!.lots, 6 * 4);
    assert.equal(expiries!.entries, 6);
    for (const member of members) await assertLedger(member, { balance: 70, pending: 0 });
    // The tenant's runs never touch another tenant's due lots.
    const other = await newTenant();
    const stranger = await other.enroll();
    await adjustWith(other, { memberId: stranger, points: 5, expiresAt: inSeconds(1) });
    await waitFor('the stranger lot to expire', async () => (await other.balance(stranger)) === 0);
    await ok('mutation { runPointsMaintenance { pointsExpired } }', {}, { token: t.admin });
    const [unbooked] = await sql<{ n: number }>('members', `SELECT count(*)::int AS n FROM point_lots WHERE member_id = $1 AND remaining > 0`, [stranger]);
    assert.equal(unbooked!.n, 1);
  });

  it('keeps pending points out of the balance until they are activated, by order or all', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const earn = (points: number, orderId: string, pendingUntil?: string) =>
      ledger.credit({ tenant: t.tenant, memberId: member, points, type: 'EARN', idempotencyKey: randomUUID(), reference: orderId, orderId, pendingUntil });
    const pendingCredit = await earn(40, 'order-1', inSeconds(3600));
    assert.equal(pendingCredit.balanceAfter, 0);
    assert.ok(pendingCredit.pendingUntil);
    await earn(25, 'order-2', inSeconds(3600));
    await earn(10, 'order-3');

    const account = (await ok<{ member: { points: Account } }>(ACCOUNT, { id: member }, { token: t.admin })).member.points;
    assert.equal(account.balance, 10);
    assert.equal(account.pending, 65);
    assert.deepEqual(codes(await t.adjust(member, -11)), ['INSUFFICIENT_POINTS']);

    const ACTIVATE = 'mutation($input: ActivatePendingInput!) { activatePendingPoints(input: $input) { pointsActivated member { points { balance pending } } } }';
    const one = await ok<{ activatePendingPoints: { pointsActivated: number; member: { points: { balance: number; pending: number } } } }>(
      ACTIVATE,
      { input: { memberId: member, orderId: 'order-1' } },
      { token: t.admin },
    );
    assert.deepEqual(one.activatePendingPoints, { pointsActivated: 40, member: { points: { balance: 50, pending: 25 } } });
    const again = await ok<{ activatePendingPoints: { pointsActivated: number } }>(ACTIVATE, { input: { memberId: member, orderId: 'order-1' } }, { token: t.admin });
    assert.equal(again.activatePendingPoints.pointsActivated, 0);
    const rest = await ok<{ activatePendingPoints: { pointsActivated: number } }>(ACTIVATE, { input: { memberId: member } }, { token: t.admin });
    assert.equal(rest.activatePendingPoints.pointsActivated, 25);
    await assertLedger(member, { balance: 75, pending: 0 });

    const marketer = await gql(ACTIVATE, { input: { memberId: member } }, { token: await token(t.tenant, ['marketer']) });
    assert.deepEqual(codes(marketer), ['FORBIDDEN']);
  });

  it('activates pending points whose time is over in maintenance', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 30, type: 'EARN', idempotencyKey: randomUUID(), reference: 'o', orderId: 'o', pendingUntil: inSeconds(1) });
    await waitFor('the pending points to activate', async () => {
      const run = await ok<{ runPointsMaintenance: { pointsActivated: number } }>('mutation { runPointsMaintenance { pointsActivated } }', {}, { token: t.admin });
      return run.runPointsMaintenance.pointsActivated === 30;
    });
    await assertLedger(member, { balance: 30, pending: 0 });
  });

  it("takes a return's points from the order's pending points first, then the balance down to 0", async () => {
    const t = await newTenant();
    const member = await t.enroll();
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 100, type: 'EARN', idempotencyKey: randomUUID(), reference: 'a', orderId: 'a', pendingUntil: inSeconds(3600) });
    await ledger.credit({ tenant: t.tenant, memberId: member, points: 50, type: 'EARN', idempotencyKey: randomUUID(), reference: 'b', orderId: 'b' });

    const fromPending = await ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'a', points: 30, idempotencyKey: 'ret-a' });
    assert.equal(fromPending.reversed, 30);
    assert.equal(fromPending.unrecovered, 0);
    assert.equal(fromPending.transaction?.type, 'REVERSAL');
    assert.equal(fromPending.transaction?.points, -30);
    assert.equal(fromPending.transaction?.reference, 'a');
    await assertLedger(member, { balance: 50, pending: 70 });

    const key = 'ret-b';
    const partly = await ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'b', points: 80, idempotencyKey: key });
    assert.deepEqual([partly.reversed, partly.unrecovered, partly.transaction?.balanceAfter], [50, 30, 0]);
    // The same key replays the first outcome and moves nothing.
    assert.deepEqual(await ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'b', points: 80, idempotencyKey: key }), partly);
    const nothing = await ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'b', points: 5, idempotencyKey: 'ret-b2' });
    assert.deepEqual([nothing.reversed, nothing.unrecovered, nothing.transaction], [0, 5, null]);
    await assert.rejects(
      ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'b', points: 6, idempotencyKey: 'ret-b2' }),
      (error: unknown) => error instanceof DomainError && error.code === 'IDEMPOTENCY_CONFLICT',
    );
    await assertLedger(member, { balance: 0, pending: 70 });
  });

  it("dates credits by the program's expiry policy, and under ROLLING moves every lot with each earn", async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const program = 'mutation($input: ProgramInput!) { updateProgram(input: $input) { expiry { mode days } } }';
    await ok(program, { input: { timeZone: 'Europe/Warsaw', expiry: { mode: 'AFTER_DAYS', days: 30, roundTo: 'END_OF_QUARTER' } } }, { token: t.admin });
    const dated = await adjustWith(t, { memberId: member, points: 10 });
    const expiresAt = new Date(dated.data!.adjustPoints.expiresAt);
    // The first instant of a quarter in Warsaw: midnight local time on the 1st of Jan/Apr/Jul/Oct, at least 30 days out.
    const local = new Intl.DateTimeFormat('en-GB', { timeZone: 'Europe/Warsaw', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', hourCycle: 'h23' }).format(expiresAt);
    assert.match(local, /^01\/(01|04|07|10), 00:00$/);
    assert.ok(expiresAt.getTime() >= Date.now() + 30 * 86_400_000 - 60_000);
    const own = await adjustWith(t, { memberId: member, points: 5, expiresAt: inSeconds(7200) });
    assert.equal(new Date(own.data!.adjustPoints.expiresAt).getTime() < expiresAt.getTime(), true, 'an explicit expiresAt wins over the policy');

    await ok(program, { input: { expiry: { mode: 'ROLLING', days: 10 } } }, { token: t.admin });
    const first = await ledger.credit({ tenant: t.tenant, memberId: member, points: 20, type: 'EARN', idempotencyKey: randomUUID(), reference: 'r1' });
    const lotsAfter = async () =>
      sql<{ points: number; expires_at: Date; rolling: boolean }>('members', 'SELECT points, expires_at, rolling FROM point_lots WHERE member_id = $1 ORDER BY created_at', [member]);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = await ledger.credit({ tenant: t.tenant, memberId: member, points: 30, type: 'EARN', idempotencyKey: randomUUID(), reference: 'r2' });
    assert.ok(new Date(second.expiresAt!).getTime() > new Date(first.expiresAt!).getTime());
    const lots = await lotsAfter();
    const rolling = lots.filter((lot) => lot.rolling);
    assert.deepEqual(rolling.map((lot) => lot.points), [20, 30]);
    // Both rolling lots now expire 10 days after the last earn; the lots dated before ROLLING keep their dates.
    assert.ok(rolling.every((lot) => lot.expires_at.getTime() === new Date(second.expiresAt!).getTime()));
    assert.equal(lots.find((lot) => lot.points === 10)!.expires_at.getTime(), expiresAt.getTime());
  });

  it('sends one POINTS_EXPIRING reminder per lot and due reminder day, however often maintenance runs', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const program = 'mutation($input: ProgramInput!) { updateProgram(input: $input) { expiry { reminderDays } } }';
    await ok(program, { input: { expiry: { mode: 'AFTER_DAYS', days: 30, reminderDays: [3, 1] } } }, { token: t.admin });
    const lot = await adjustWith(t, { memberId: member, points: 40, expiresAt: inSeconds(2 * 86_400) });
    await t.adjust(member, 5); // dated 30 days out: no reminder is due for it yet
    const RUN = 'mutation { runPointsMaintenance { remindersSent } }';
    const runs = await Promise.all([1, 2, 3].map(() => ok<{ runPointsMaintenance: { remindersSent: number } }>(RUN, {}, { token: t.admin })));
    assert.equal(runs.reduce((sum, r) => sum + r.runPointsMaintenance.remindersSent, 0), 1);
    assert.equal((await ok<{ runPointsMaintenance: { remindersSent: number } }>(RUN, {}, { token: t.admin })).runPointsMaintenance.remindersSent, 0);
    const events = await sql<{ payload: { memberId: string; points: number; daysBefore: number; expiresAt: string } }>(
      'members',
      `SELECT payload FROM outbox WHERE type = 'POINTS_EXPIRING' AND tenant = $1`,
      [t.tenant],
    );
    assert.equal(events.length, 1);
    assert.deepEqual(
      { ...events[0]!.payload, expiresAt: new Date(events[0]!.payload.expiresAt).getTime() },
      { ...events[0]!.payload, memberId: member, points: 40, daysBefore: 3, expiresAt: new Date(lot.data!.adjustPoints.expiresAt).getTime() },
    );
  });

  it('reports expired points, returns net of issued points, and pending points outside outstanding', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const earn = (points: number, orderId: string, pendingUntil?: string) =>
      ledger.credit({ tenant: t.tenant, memberId: member, points, type: 'EARN', idempotencyKey: randomUUID(), reference: orderId, orderId, pendingUntil });
    await earn(100, 'o1');
    await earn(50, 'o2', inSeconds(3600));
    await ledger.reverseOrder({ tenant: t.tenant, memberId: member, orderId: 'o1', points: 30, idempotencyKey: randomUUID() });
    await adjustWith(t, { memberId: member, points: 10, expiresAt: inSeconds(1) });
    await waitFor('the lot to expire', async () => (await t.balance(member)) === 70);
    await ok('mutation { runPointsMaintenance { pointsExpired } }', {}, { token: t.admin });

    const STATS = '{ programStats { pointsIssued pointsRedeemed pointsExpired pointsOutstanding } }';
    const expected = { pointsIssued: 100 - 30 + 10, pointsRedeemed: 0, pointsExpired: 10, pointsOutstanding: 70 };
    const stats = await waitFor('analytics to count the lifecycle', async () => {
      const result = await ok<{ programStats: typeof expected }>(STATS, {}, { token: t.admin });
      return JSON.stringify(result.programStats) === JSON.stringify(expected) && result.programStats;
    });
    assert.deepEqual(stats, expected);
    // Outstanding excludes the 50 pending points, as the ledger's sum of booked balances does.
    assert.equal(await ledger.outstanding(t.tenant), 70);
  });

  it("reports the tenant's liability: spendable, pending and due to expire, expired points out before any job", async () => {
    const t = await newTenant();
    const other = await newTenant();
    const [a, b] = [await t.enroll(), await t.enroll()];
    await adjustWith(t, { memberId: a, points: 40, expiresAt: inSeconds(20 * 86_400) });
    await adjustWith(t, { memberId: b, points: 25, expiresAt: inSeconds(75 * 86_400) });
    await adjustWith(t, { memberId: b, points: 5, expiresAt: inSeconds(1) });
    await t.adjust(a, 100);
    await ledger.credit({ tenant: t.tenant, memberId: b, points: 60, type: 'EARN', idempotencyKey: randomUUID(), reference: 'p', orderId: 'p', pendingUntil: inSeconds(3600) });
    await other.adjust(await other.enroll(), 1000);
    await waitFor('the 5 points to expire', async () => (await t.balance(b)) === 25);

    const LIABILITY = 'query($days: [Int!]) { pointsLiability(expiringWithinDays: $days) { spendable pending expiring { withinDays points } } }';
    const { pointsLiability } = await ok<{ pointsLiability: unknown }>('{ pointsLiability { spendable pending expiring { withinDays points } } }', {}, { token: await token(t.tenant, ['marketer']) });
    assert.deepEqual(pointsLiability, {
      spendable: 165,
      pending: 60,
      expiring: [
        { withinDays: 30, points: 40 },
        { withinDays: 60, points: 40 },
        { withinDays: 90, points: 65 },
      ],
    });
    const custom = await ok<{ pointsLiability: { expiring: unknown } }>(LIABILITY, { days: [100, 1] }, { token: t.admin });
    assert.deepEqual(custom.pointsLiability.expiring, [{ withinDays: 100, points: 65 }, { withinDays: 1, points: 0 }]);

    for (const days of [[0], [3651], Array.from({ length: 11 }, (_, i) => i + 1)]) {
      const refused = await gql(LIABILITY, { days }, { token: t.admin });
      assert.deepEqual(codes(refused), ['BAD_USER_INPUT']);
      assert.equal(refused.errors?.[0]?.extensions?.field, 'expiringWithinDays');
    }
    assert.deepEqual(codes(await gql(LIABILITY, {}, { token: await token(t.tenant, ['integration']) })), ['FORBIDDEN']);
  });

  it('replays a pending credit retried after its pending time is over', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const request = { tenant: t.tenant, memberId: member, points: 25, type: 'EARN' as const, idempotencyKey: randomUUID(), reference: 'late', orderId: 'late', pendingUntil: inSeconds(1) };
    const first = await ledger.credit(request);
    await waitFor('the pending time to pass', () => Date.now() > new Date(request.pendingUntil).getTime() + 50);
    const again = await ledger.credit(request);
    assert.equal(again.id, first.id);
    const [{ n }] = (await sql<{ n: number }>('members', 'SELECT count(*)::int AS n FROM ledger_entries WHERE member_id = $1', [member])) as [{ n: number }];
    assert.equal(n, 1);
  });
});
