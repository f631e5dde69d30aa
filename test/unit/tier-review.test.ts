import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import type { TierDowngrade } from '../../subgraphs/members/src/program/program.policy';
import {
  earnedChange,
  qualificationFirstDay,
  reviewTier,
  upgrade,
  type ReviewedMember,
  type TierLevel,
  type TierReview,
} from '../../subgraphs/members/src/tier/tier.rule';

const tier = (id: string, rank: number, qualifyingPoints: number): TierLevel => ({ id, name: id, rank, qualifyingPoints, earnMultiplier: 1 });
const bronze = tier('bronze', 0, 0);
const silver = tier('silver', 1, 1000);
const gold = tier('gold', 2, 5000);
const platinum = tier('platinum', 3, 10_000);
const program = [bronze, silver, gold, platinum];
/** A tenant whose every tier needs points: below them lies the built-in base, recorded as no tier. */
const noEntry = [silver, gold];

const now = new Date('2026-06-15T12:00:00Z');
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
const policy = (downgrade: TierDowngrade, graceDays = 0, timeZone = 'UTC') => ({ timeZone, tierPolicy: { windowMonths: 12, downgrade, graceDays } });
const member = (tierId: string | null, retainedUntil: Date | null = null): ReviewedMember => ({ tierId, retainedUntil });

const keep: TierReview = { kind: 'keep' };
const endGrace: TierReview = { kind: 'endGrace' };
const startGrace = (until: Date): TierReview => ({ kind: 'startGrace', retainedUntil: until });
const up = (previousTierId: string | null, tierId: string | null): TierReview => ({ kind: 'move', direction: 'UP', previousTierId, tierId });
const down = (previousTierId: string | null, tierId: string | null): TierReview => ({ kind: 'move', direction: 'DOWN', previousTierId, tierId });

type Case = [string, ReturnType<typeof policy>, ReviewedMember, TierLevel[], number, TierReview];

describe('tier review', () => {
  describe.each<TierDowngrade>(['NEVER', 'ONE_LEVEL', 'TO_QUALIFIED'])('whatever the downgrade (%s)', (downgrade) => {
    it.each<Case>([
      ['keeps a tier the window still qualifies for', policy(downgrade), member('gold'), program, 5000, keep],
      ['keeps it with a grace setting too', policy(downgrade, 30), member('gold'), program, 7000, keep],
      ['ends a grace period once it qualifies again', policy(downgrade, 30), member('gold', days(10)), program, 5000, endGrace],
      ['ends a grace period that is over once it qualifies again', policy(downgrade, 30), member('gold', days(-1)), program, 6000, endGrace],
      ['upgrades to the highest tier it qualifies for', policy(downgrade), member('bronze'), program, 6000, up('bronze', 'gold')],
      ['upgrades during a grace period (which ends with it)', policy(downgrade, 30), member('silver', days(5)), program, 12_000, up('silver', 'platinum')],
      ['upgrades a member without a recorded tier from the entry tier', policy(downgrade), member(null), program, 1000, up('bronze', 'silver')],
      ['upgrades from the built-in base', policy(downgrade), member(null), noEntry, 1000, up(null, 'silver')],
      ['keeps the entry tier with no points', policy(downgrade, 30), member(null), program, 0, keep],
      ['keeps the recorded entry tier with no points', policy(downgrade, 30), member('bronze'), program, 0, keep],
      ['keeps the built-in base with no points', policy(downgrade, 30), member(null), noEntry, 0, keep],
      ['stands a member on an unknown tier on the entry tier', policy(downgrade), member('gone'), program, 10, keep],
    ])('%s', (_name, terms, reviewed, tiers, points, expected) => {
      assert.deepEqual(reviewTier(terms, reviewed, tiers, points, now), expected);
    });
  });

  it.each<Case>([
    // NEVER: a tier once reached stays, and no grace period runs.
    ['NEVER keeps a tier it no longer qualifies for', policy('NEVER'), member('gold'), program, 0, keep],
    ['NEVER with grace days starts no grace', policy('NEVER', 30), member('gold'), program, 0, keep],
    ['NEVER ends a grace period started under another policy', policy('NEVER', 30), member('gold', days(3)), program, 0, endGrace],

    // TO_QUALIFIED: straight to the highest tier the window qualifies for.
    ['TO_QUALIFIED without grace goes to the tier it qualifies for', policy('TO_QUALIFIED'), member('platinum'), program, 1200, down('platinum', 'silver')],
    ['TO_QUALIFIED without grace goes to the entry tier below every threshold', policy('TO_QUALIFIED'), member('gold'), program, 10, down('gold', 'bronze')],
    ['TO_QUALIFIED without an entry tier goes to the built-in base', policy('TO_QUALIFIED'), member('gold'), noEntry, 10, down('gold', null)],
    ['TO_QUALIFIED with grace starts it first', policy('TO_QUALIFIED', 30), member('gold'), program, 10, startGrace(days(30))],
    ['TO_QUALIFIED keeps the tier while the grace runs', policy('TO_QUALIFIED', 30), member('gold', days(1)), program, 10, keep],
    ['TO_QUALIFIED downgrades at the end of the grace', policy('TO_QUALIFIED', 30), member('gold', now), program, 1500, down('gold', 'silver')],
    ['TO_QUALIFIED downgrades after the grace', policy('TO_QUALIFIED', 30), member('gold', days(-2)), program, 10, down('gold', 'bronze')],

    // ONE_LEVEL: one rank per review, each with its own grace.
    ['ONE_LEVEL without grace goes one rank down', policy('ONE_LEVEL'), member('platinum'), program, 10, down('platinum', 'gold')],
    ['ONE_LEVEL goes one rank down even where it qualifies lower', policy('ONE_LEVEL'), member('platinum'), program, 1200, down('platinum', 'gold')],
    ['ONE_LEVEL from the lowest tier without an entry tier goes to the built-in base', policy('ONE_LEVEL'), member('silver'), noEntry, 10, down('silver', null)],
    ['ONE_LEVEL from the second tier without an entry tier', policy('ONE_LEVEL'), member('gold'), noEntry, 10, down('gold', 'silver')],
    ['ONE_LEVEL with grace starts it first', policy('ONE_LEVEL', 14), member('platinum'), program, 10, startGrace(days(14))],
    ['ONE_LEVEL keeps the tier while the grace runs', policy('ONE_LEVEL', 14), member('platinum', days(7)), program, 10, keep],
    ['ONE_LEVEL downgrades one rank after the grace', policy('ONE_LEVEL', 14), member('platinum', days(-1)), program, 10, down('platinum', 'gold')],

    // A grace period promised stays promised when the policy changes under it.
    ['a running grace is kept after grace days went to 0', policy('TO_QUALIFIED', 0), member('gold', days(3)), program, 10, keep],
    ['an ended grace downgrades after grace days went to 0', policy('TO_QUALIFIED', 0), member('gold', days(-3)), program, 10, down('gold', 'bronze')],
  ])('%s', (_name, terms, reviewed, tiers, points, expected) => {
    assert.deepEqual(reviewTier(terms, reviewed, tiers, points, now), expected);
  });

  it('counts grace days as calendar days in the program time zone', () => {
    const winter = new Date('2026-03-20T10:00:00+01:00');
    assert.deepEqual(reviewTier(policy('TO_QUALIFIED', 30, 'Europe/Warsaw'), member('gold'), program, 0, winter), startGrace(new Date('2026-04-19T10:00:00+02:00')));
    assert.deepEqual(reviewTier(policy('TO_QUALIFIED', 30, 'UTC'), member('gold'), program, 0, winter), startGrace(new Date('2026-04-19T09:00:00Z')));
  });

  it('upgrades exactly as earning does', () => {
    for (const tierId of [null, 'bronze', 'silver', 'gold', 'platinum']) {
      for (const points of [0, 999, 1000, 4999, 5000, 9999, 10_000, 50_000]) {
        for (const tiers of [program, noEntry, []]) {
          const earned = upgrade({ tierId }, tiers, points);
          const reviewed = reviewTier(policy('TO_QUALIFIED'), member(tierId), tiers, points, now);
          const move = reviewed.kind === 'move' && reviewed.direction === 'UP' ? { previousTierId: reviewed.previousTierId, tierId: reviewed.tierId } : undefined;
          assert.deepEqual(move, earned, `tier ${tierId} with ${points} points`);
        }
      }
    }
  });

  describe('ONE_LEVEL moves at most one rank a day', () => {
    const downgraded = (at: Date): ReviewedMember => ({ tierId: 'gold', retainedUntil: null, downgradedAt: at });
    it.each<[string, ReturnType<typeof policy>, ReviewedMember, TierReview]>([
      ['a second review on the day of a downgrade keeps the tier', policy('ONE_LEVEL'), downgraded(days(0)), keep],
      ['the same, earlier that day', policy('ONE_LEVEL'), downgraded(new Date('2026-06-15T00:00:01Z')), keep],
      ['a review the next day goes on down', policy('ONE_LEVEL'), downgraded(days(-1)), down('gold', 'silver')],
      // 2026-06-14T23:30Z is already 2026-06-15 in Warsaw (+02:00): the same program day.
      ['the day is the program zone\'s', policy('ONE_LEVEL', 0, 'Europe/Warsaw'), downgraded(new Date('2026-06-14T23:30:00Z')), keep],
      ['in UTC that was yesterday', policy('ONE_LEVEL'), downgraded(new Date('2026-06-14T23:30:00Z')), down('gold', 'silver')],
      ['TO_QUALIFIED is not limited (it lands where it qualifies)', policy('TO_QUALIFIED'), downgraded(days(0)), down('gold', 'bronze')],
      ['a grace period still starts on that day', policy('ONE_LEVEL', 14), downgraded(days(0)), startGrace(days(14))],
    ])('%s', (_name, terms, reviewed, expected) => {
      assert.deepEqual(reviewTier(terms, reviewed, program, 10, now), expected);
    });
  });

  it('applies on earning only the upward half of a review', () => {
    const cases: [ReviewedMember, number, TierReview][] = [
      [member('bronze'), 6000, up('bronze', 'gold')],
      [member('gold', days(5)), 5000, endGrace],
      [member('silver', days(5)), 12_000, up('silver', 'platinum')],
      // What only a review does: start a grace period or take a tier away.
      [member('gold'), 10, keep],
      [member('gold', days(-1)), 10, keep],
      [member('gold', days(5)), 10, keep],
    ];
    for (const [reviewed, points, expected] of cases) {
      assert.deepEqual(earnedChange(policy('TO_QUALIFIED', 30), reviewed, program, points, now), expected, JSON.stringify([reviewed, points]));
    }
  });

  it('starts the window at the UTC bucket that holds its first instant', () => {
    const window = (months: number, timeZone: string) => ({ timeZone, tierPolicy: { windowMonths: months, downgrade: 'TO_QUALIFIED' as const, graceDays: 0 } });
    const cases: [Date, number, string, string][] = [
      [new Date('2026-03-31T12:00:00Z'), 12, 'UTC', '2025-03-31'],
      [new Date('2026-03-31T12:00:00Z'), 1, 'UTC', '2026-02-28'],
      [new Date('2026-06-15T12:00:00Z'), 3, 'UTC', '2026-03-15'],
      // Warsaw's 2026-03-15 starts at 2026-03-14T23:00Z: that UTC day's bucket is counted too.
      [new Date('2026-06-15T12:00:00Z'), 3, 'Europe/Warsaw', '2026-03-14'],
      // New York's day starts at 04:00Z, inside the UTC day of the same date.
      [new Date('2026-06-15T12:00:00Z'), 3, 'America/New_York', '2026-03-15'],
      // Late evening in New York is already the next UTC day; the window counts from New York's date.
      [new Date('2026-06-16T02:00:00Z'), 3, 'America/New_York', '2026-03-15'],
    ];
    for (const [at, months, zone, first] of cases) assert.equal(qualificationFirstDay(at, window(months, zone)), first, `${at.toISOString()} ${months} months in ${zone}`);
  });
});
