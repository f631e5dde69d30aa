import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { codes, gql, newTenant, ok, sql, token, type Caller } from './support/system';

const FIELDS = 'timeZone expiry { mode days roundTo reminderDays } tierPolicy { windowMonths downgrade graceDays } transfers { maxPointsPerDay maxTransfersPerDay }';
const PROGRAM = `{ program { ${FIELDS} } }`;
const UPDATE = `mutation($input: ProgramInput!) { updateProgram(input: $input) { ${FIELDS} } }`;

interface Program {
  timeZone: string;
  expiry: { mode: string; days: number | null; roundTo: string; reminderDays: number[] };
  tierPolicy: { windowMonths: number; downgrade: string; graceDays: number };
  transfers: { maxPointsPerDay: number | null; maxTransfersPerDay: number | null };
}

const DEFAULTS: Program = {
  timeZone: 'UTC',
  expiry: { mode: 'NEVER', days: null, roundTo: 'NONE', reminderDays: [] },
  tierPolicy: { windowMonths: 12, downgrade: 'TO_QUALIFIED', graceDays: 0 },
  transfers: { maxPointsPerDay: null, maxTransfersPerDay: null },
};

const read = async (caller: Caller) => (await ok<{ program: Program }>(PROGRAM, {}, caller)).program;
const update = async (input: Record<string, unknown>, caller: Caller) => (await ok<{ updateProgram: Program }>(UPDATE, { input }, caller)).updateProgram;

/** The tenant's change log, oldest first. */
const changes = (tenant: string) =>
  sql<{ actor: string; before: Program; after: Program }>('members', 'SELECT actor, before, after FROM program_changes WHERE tenant = $1 ORDER BY changed_at, id', [tenant]);

describe('program policy', () => {
  it('gives a tenant that never set one the defaults, and no row of its own', async () => {
    const t = await newTenant();
    assert.deepEqual(await read({ token: t.admin }), DEFAULTS);
    assert.deepEqual(await sql('members', 'SELECT tenant FROM programs WHERE tenant = $1', [t.tenant]), []);
    assert.deepEqual(await changes(t.tenant), []);
  });

  it('stores a change, reads it back, and logs who changed what from what', async () => {
    const t = await newTenant();
    const input = {
      timeZone: 'europe/warsaw',
      expiry: { mode: 'AFTER_DAYS', days: 365, roundTo: 'END_OF_QUARTER', reminderDays: [7, 30, 1] },
      tierPolicy: { windowMonths: 24, downgrade: 'ONE_LEVEL', graceDays: 30 },
      transfers: { maxPointsPerDay: 5000, maxTransfersPerDay: 10 },
    };
    const expected: Program = {
      timeZone: 'Europe/Warsaw',
      expiry: { mode: 'AFTER_DAYS', days: 365, roundTo: 'END_OF_QUARTER', reminderDays: [30, 7, 1] },
      tierPolicy: { windowMonths: 24, downgrade: 'ONE_LEVEL', graceDays: 30 },
      transfers: { maxPointsPerDay: 5000, maxTransfersPerDay: 10 },
    };
    assert.deepEqual(await update(input, { token: t.admin }), expected);
    assert.deepEqual(await read({ token: t.admin }), expected);
    assert.deepEqual(await changes(t.tenant), [{ actor: `admin@${t.tenant}`, before: DEFAULTS, after: expected }]);
  });

  it('keeps the parts an update omits, and fills a part given from its defaults', async () => {
    const t = await newTenant();
    const first = await update(
      { timeZone: 'America/New_York', expiry: { mode: 'ROLLING', days: 180, reminderDays: [14] }, tierPolicy: { windowMonths: 6, downgrade: 'NEVER', graceDays: 10 } },
      { token: t.admin },
    );
    const onlyZone = await update({ timeZone: 'Asia/Tokyo' }, { token: t.admin });
    assert.deepEqual(onlyZone, { ...first, timeZone: 'Asia/Tokyo' });
    const onlyExpiry = await update({ expiry: { mode: 'AFTER_DAYS', days: 30 } }, { token: t.admin });
    assert.deepEqual(onlyExpiry, { ...onlyZone, expiry: { mode: 'AFTER_DAYS', days: 30, roundTo: 'NONE', reminderDays: [] } });
    // A tier policy given whole: what it leaves out takes the documented defaults.
    const onlyGrace = await update({ tierPolicy: { graceDays: 5 } }, { token: t.admin });
    assert.deepEqual(onlyGrace, { ...onlyExpiry, tierPolicy: { windowMonths: 12, downgrade: 'TO_QUALIFIED', graceDays: 5 } });
    // Transfer limits given whole: a limit left out is no limit.
    const onlyTransfers = await update({ transfers: { maxTransfersPerDay: 4 } }, { token: t.admin });
    assert.deepEqual(onlyTransfers, { ...onlyGrace, transfers: { maxPointsPerDay: null, maxTransfersPerDay: 4 } });
    // Back to never expiring.
    const never = await update({ expiry: { mode: 'NEVER' } }, { token: t.admin });
    assert.deepEqual(never.expiry, DEFAULTS.expiry);
    assert.deepEqual(await read({ token: t.admin }), never);

    const log = await changes(t.tenant);
    assert.deepEqual(log.map((c) => c.after), [first, onlyZone, onlyExpiry, onlyGrace, onlyTransfers, never]);
    assert.deepEqual(log.map((c) => c.before), [DEFAULTS, first, onlyZone, onlyExpiry, onlyGrace, onlyTransfers]);
  });

  it('logs nothing for an update that changes nothing', async () => {
    const t = await newTenant();
    assert.deepEqual(await update({}, { token: t.admin }), DEFAULTS);
    assert.deepEqual(await update({ timeZone: 'UTC', tierPolicy: {} }, { token: t.admin }), DEFAULTS);
    assert.deepEqual(await changes(t.tenant), []);
    await update({ timeZone: 'Europe/Paris' }, { token: t.admin });
    await update({ timeZone: 'Europe/Paris' }, { token: t.admin });
    assert.equal((await changes(t.tenant)).length, 1);
  });

  it('refuses bad input with BAD_USER_INPUT naming the field, and writes nothing', async () => {
    const t = await newTenant();
    const stored = await update({ timeZone: 'Europe/Warsaw', expiry: { mode: 'AFTER_DAYS', days: 90, reminderDays: [7] } }, { token: t.admin });
    const cases: [Record<string, unknown>, string][] = [
      [{ timeZone: 'Mars/Olympus' }, 'timeZone'],
      [{ timeZone: '+01:00' }, 'timeZone'],
      [{ timeZone: '' }, 'timeZone'],
      [{ expiry: { mode: 'AFTER_DAYS' } }, 'expiry.days'],
      [{ expiry: { mode: 'ROLLING', days: null } }, 'expiry.days'],
      [{ expiry: { mode: 'AFTER_DAYS', days: 0 } }, 'expiry.days'],
      [{ expiry: { mode: 'ROLLING', days: -30 } }, 'expiry.days'],
      [{ expiry: { mode: 'NEVER', days: 30 } }, 'expiry.days'],
      [{ expiry: { mode: 'AFTER_DAYS', days: 30, reminderDays: [30] } }, 'expiry.reminderDays'],
      [{ expiry: { mode: 'AFTER_DAYS', days: 30, reminderDays: [40, 7] } }, 'expiry.reminderDays'],
      [{ expiry: { mode: 'AFTER_DAYS', days: 30, reminderDays: [0] } }, 'expiry.reminderDays'],
      [{ expiry: { mode: 'AFTER_DAYS', days: 30, reminderDays: [7, 7] } }, 'expiry.reminderDays'],
      [{ expiry: { mode: 'NEVER', reminderDays: [7] } }, 'expiry.reminderDays'],
      [{ expiry: { mode: 'ROLLING', days: 30, roundTo: 'END_OF_MONTH' } }, 'expiry.roundTo'],
      [{ expiry: { mode: 'NEVER', roundTo: 'END_OF_YEAR' } }, 'expiry.roundTo'],
      [{ expiry: { mode: 'FOREVER', days: 30 } }, 'expiry.mode'],
      [{ tierPolicy: { windowMonths: 0 } }, 'tierPolicy.windowMonths'],
      [{ tierPolicy: { windowMonths: 121 } }, 'tierPolicy.windowMonths'],
      [{ tierPolicy: { graceDays: -1 } }, 'tierPolicy.graceDays'],
      [{ tierPolicy: { graceDays: 3651 } }, 'tierPolicy.graceDays'],
      // One bad part spoils the whole update: the valid parts beside it are not written either.
      [{ timeZone: 'Asia/Tokyo', tierPolicy: { windowMonths: 6, graceDays: 5000 } }, 'tierPolicy.graceDays'],
      [{ timeZone: 'Asia/Tokyo', expiry: { mode: 'AFTER_DAYS' } }, 'expiry.days'],
    ];
    for (const [input, field] of cases) {
      const result = await gql(UPDATE, { input }, { token: t.admin });
      assert.deepEqual(codes(result), ['BAD_USER_INPUT'], JSON.stringify(input));
      assert.equal(result.errors![0]!.extensions!.field, field, JSON.stringify(input));
      assert.doesNotMatch(result.errors![0]!.message, /SQL|programs|node_modules|at \w+ \(/, 'no internals');
    }
    assert.deepEqual(await read({ token: t.admin }), stored);
    assert.equal((await changes(t.tenant)).length, 1);
  });

  it('lets staff read the policy and only admins change it', async () => {
    const t = await newTenant();
    const member = await t.enroll();
    const as = async (role: string) => ({ token: await token(t.tenant, [role], role === 'member' ? { memberId: member } : {}) });
    for (const role of ['admin', 'marketer', 'agent']) assert.deepEqual(await read(await as(role)), DEFAULTS, role);
    for (const role of ['integration', 'member']) assert.deepEqual(codes(await gql(PROGRAM, {}, await as(role))), ['FORBIDDEN'], role);
    for (const role of ['marketer', 'agent', 'integration', 'member']) {
      assert.deepEqual(codes(await gql(UPDATE, { input: { timeZone: 'Asia/Tokyo' } }, await as(role))), ['FORBIDDEN'], role);
    }
    const key = await ok<{ createApiKey: { secret: string } }>('mutation { createApiKey(input: { name: "p", scopes: ["catalog:read"] }) { secret } }', {}, { token: t.admin });
    assert.deepEqual(codes(await gql(PROGRAM, {}, { apiKey: key.createApiKey.secret })), ['FORBIDDEN']);
    assert.deepEqual(await read({ token: t.admin }), DEFAULTS);
    assert.deepEqual(await changes(t.tenant), []);
  });

  it("keeps each tenant's policy and change log to itself", async () => {
    const a = await newTenant();
    const b = await newTenant();
    const ofA = await update({ timeZone: 'Europe/Warsaw', expiry: { mode: 'AFTER_DAYS', days: 30, roundTo: 'END_OF_MONTH' } }, { token: a.admin });
    assert.deepEqual(await read({ token: b.admin }), DEFAULTS);
    const ofB = await update({ tierPolicy: { downgrade: 'NEVER' } }, { token: b.admin });
    assert.deepEqual(await read({ token: a.admin }), ofA);
    assert.deepEqual(await read({ token: b.admin }), ofB);
    assert.deepEqual((await changes(a.tenant)).map((c) => c.after), [ofA]);
    assert.deepEqual((await changes(b.tenant)).map((c) => c.before), [DEFAULTS]);
  });

  it('chains concurrent first changes: each one logs the policy the one before it left', async () => {
    const t = await newTenant();
    const inputs = [{ timeZone: 'Europe/Warsaw' }, { tierPolicy: { graceDays: 7 } }, { expiry: { mode: 'ROLLING', days: 365 } }, { timeZone: 'Asia/Tokyo' }];
    await Promise.all(inputs.map((input) => update(input, { token: t.admin })));
    const log = await changes(t.tenant);
    assert.equal(log.length, inputs.length);
    assert.deepEqual(log[0]!.before, DEFAULTS);
    for (let i = 1; i < log.length; i++) assert.deepEqual(log[i]!.before, log[i - 1]!.after, `change ${i}`);
    const final = await read({ token: t.admin });
    assert.deepEqual(log.at(-1)!.after, final);
    assert.deepEqual({ grace: final.tierPolicy.graceDays, expiry: final.expiry.mode }, { grace: 7, expiry: 'ROLLING' });
  });

  it('keeps the change log append-only', async () => {
    const t = await newTenant();
    await update({ timeZone: 'Europe/Warsaw' }, { token: t.admin });
    await assert.rejects(sql('members', "UPDATE program_changes SET actor = 'mallory' WHERE tenant = $1", [t.tenant]), /append-only/);
    await assert.rejects(sql('members', 'DELETE FROM program_changes WHERE tenant = $1', [t.tenant]), /append-only/);
    assert.deepEqual((await changes(t.tenant)).map((c) => c.actor), [`admin@${t.tenant}`]);
  });
});
