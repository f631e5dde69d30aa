import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { inherit, type SpendableLot } from '../../subgraphs/members/src/ledger/lots.rule';
import { limitRefusal, partyRefusal, transferDayStart, type MemberStatus } from '../../subgraphs/members/src/transfer/transfer.rule';

const JAN = new Date('2027-01-31T00:00:00Z');
const MAR = new Date('2027-03-31T00:00:00Z');
const lot = (id: string, remaining: number, expiresAt: Date | null, rolling = false): SpendableLot => ({ id, remaining, expiresAt, rolling });

describe('inherit: what a transfer takes from the sender and opens for the receiver', () => {
  // The sender's lots in the order debits draw them: soonest expiry first, never-expiring last.
  const lots = [lot('jan-1', 10, JAN), lot('jan-2', 5, JAN), lot('mar', 20, MAR), lot('mar-rolling', 8, MAR, true), lot('never', 50, null)];
  const cases: [string, number, { taken: [string, number][]; lots: [number, Date | null, boolean][]; short: number }][] = [
    ['part of the soonest lot', 4, { taken: [['jan-1', 4]], lots: [[4, JAN, false]], short: 0 }],
    ['two lots of one date become one receiver lot', 12, { taken: [['jan-1', 10], ['jan-2', 2]], lots: [[12, JAN, false]], short: 0 }],
    [
      'across dates, each piece keeps its date',
      40,
      { taken: [['jan-1', 10], ['jan-2', 5], ['mar', 20], ['mar-rolling', 5]], lots: [[15, JAN, false], [20, MAR, false], [5, MAR, true]], short: 0 },
    ],
    [
      'everything, never-expiring points last',
      93,
      {
        taken: [['jan-1', 10], ['jan-2', 5], ['mar', 20], ['mar-rolling', 8], ['never', 50]],
        lots: [[15, JAN, false], [20, MAR, false], [8, MAR, true], [50, null, false]],
        short: 0,
      },
    ],
    ['more than the lots hold: short', 100, { taken: [['jan-1', 10], ['jan-2', 5], ['mar', 20], ['mar-rolling', 8], ['never', 50]], lots: [[15, JAN, false], [20, MAR, false], [8, MAR, true], [50, null, false]], short: 7 }],
  ];
  for (const [name, points, expected] of cases) {
    it(name, () => {
      const result = inherit(lots, points);
      assert.deepEqual(result.taken.map((t) => [t.lotId, t.points]), expected.taken);
      assert.deepEqual(result.lots.map((l) => [l.points, l.expiresAt, l.rolling]), expected.lots);
      assert.equal(result.short, expected.short);
      const inherited = result.lots.reduce((sum, l) => sum + l.points, 0);
      assert.equal(inherited, points - result.short, 'the receiver gets exactly what was taken');
    });
  }

  it('skips empty lots and opens nothing for nothing', () => {
    assert.deepEqual(inherit([lot('empty', 0, JAN), lot('never', 3, null)], 2).lots, [{ points: 2, expiresAt: null, rolling: false }]);
    assert.deepEqual(inherit([], 0), { taken: [], short: 0, lots: [] });
  });
});

describe('limitRefusal: the daily limits of the sending member', () => {
  const none = { maxPointsPerDay: null, maxTransfersPerDay: null };
  const cases: [string, Parameters<typeof limitRefusal>[0], { points: number; transfers: number }, number, RegExp | null][] = [
    ['no limits: anything', none, { points: 1_000_000, transfers: 1000 }, 100_000_000, null],
    ['points: up to the limit', { ...none, maxPointsPerDay: 100 }, { points: 60, transfers: 1 }, 40, null],
    ['points: one past the limit', { ...none, maxPointsPerDay: 100 }, { points: 60, transfers: 1 }, 41, /daily limit is 100 points; 40 can still be sent/],
    ['points: the first transfer of the day alone too much', { ...none, maxPointsPerDay: 100 }, { points: 0, transfers: 0 }, 101, /100 can still be sent/],
    ['count: the last one allowed', { ...none, maxTransfersPerDay: 3 }, { points: 5, transfers: 2 }, 1, null],
    ['count: one more than allowed', { ...none, maxTransfersPerDay: 3 }, { points: 5, transfers: 3 }, 1, /daily limit of 3 transfers/],
    ['both: the count is told first', { maxPointsPerDay: 10, maxTransfersPerDay: 1 }, { points: 10, transfers: 1 }, 5, /1 transfers/],
    ['after a lowered limit: 0 left, never negative', { ...none, maxPointsPerDay: 50 }, { points: 80, transfers: 2 }, 1, /; 0 can still be sent/],
  ];
  for (const [name, limits, sent, points, refusal] of cases) {
    it(name, () => {
      const result = limitRefusal(limits, sent, points);
      if (!refusal) return assert.equal(result, null);
      assert.ok(result);
      assert.equal(result.code, 'BAD_USER_INPUT');
      assert.equal(result.field, 'points');
      assert.match(result.message, refusal);
    });
  }
});

describe('partyRefusal: only ACTIVE members send and receive', () => {
  const cases: [MemberStatus | undefined, 'fromMemberId' | 'toMemberId', string | null][] = [
    ['ACTIVE', 'fromMemberId', null],
    ['ACTIVE', 'toMemberId', null],
    ['SUSPENDED', 'fromMemberId', 'NOT_ELIGIBLE'],
    ['SUSPENDED', 'toMemberId', 'NOT_ELIGIBLE'],
    ['ERASED', 'toMemberId', 'NOT_FOUND'],
    [undefined, 'fromMemberId', 'NOT_FOUND'],
  ];
  for (const [status, field, code] of cases) {
    it(`${status ?? 'unknown'} as ${field}`, () => {
      const refusal = partyRefusal(status, field);
      assert.equal(refusal?.code ?? null, code);
      if (refusal) assert.equal(refusal.field, field);
    });
  }
});

describe("transferDayStart: the day starts at midnight in the program's time zone", () => {
  const cases: [string, string, string][] = [
    ['2027-06-15T10:00:00Z', 'UTC', '2027-06-15T00:00:00.000Z'],
    ['2027-06-15T10:00:00Z', 'Europe/Warsaw', '2027-06-14T22:00:00.000Z'],
    // 23:30 in New York is already the next day in UTC: it is still New York's day.
    ['2027-06-16T03:30:00Z', 'America/New_York', '2027-06-15T04:00:00.000Z'],
    // The day of a daylight-saving change starts at its own midnight (UTC+1 before the change).
    ['2027-03-28T12:00:00Z', 'Europe/Warsaw', '2027-03-27T23:00:00.000Z'],
  ];
  for (const [now, zone, start] of cases) {
    it(`${now} in ${zone}`, () => assert.equal(transferDayStart(new Date(now), zone).toISOString(), start));
  }
});
