import { describe, expect, it } from '@jest/globals';
import {
  award,
  calculations,
  happyHourMultiplier,
  isEligible,
  isTimeZone,
  pendingUntil,
  periodKey,
  triggers,
  type ActivityFacts,
  type CapPeriod,
  type EligibilitySpec,
  type HappyHourSpec,
  type MemberFacts,
  type RuleSpec,
} from '../../subgraphs/campaigns/src/rules/rules';

const rule = (spec: Partial<RuleSpec> = {}): RuleSpec => ({
  id: 'r1',
  name: 'rule',
  trigger: 'PURCHASE',
  eventName: null,
  calculation: 'FIXED',
  points: 10,
  amountStep: null,
  minOrderAmount: null,
  maxPointsPerMember: null,
  capPeriod: null,
  happyHours: [],
  ...spec,
});
const purchase = (amount: number | null, occurredAt = new Date('2026-03-04T12:00:00Z')): ActivityFacts => ({ type: 'PURCHASE', amount, eventName: null, occurredAt });
const event = (eventName: string): ActivityFacts => ({ type: 'CUSTOM_EVENT', amount: null, eventName, occurredAt: new Date('2026-03-04T12:00:00Z') });
const member = (facts: Partial<MemberFacts> = {}): MemberFacts => ({ country: 'DE', tierRank: 0, earnMultiplier: 1, attributes: {}, ...facts });

// Saturday 2026-11-21 08:30 in Tokyo is still Friday 23:30 in UTC.
const saturdayMorningTokyo = new Date('2026-11-20T23:30:00Z');
const saturdayHappyHour: HappyHourSpec = { daysOfWeek: [6], startTime: '08:00', endTime: '09:00', multiplier: 3 };

describe('calculations', () => {
  it.each<[string, Partial<RuleSpec>, number | null, number]>([
    ['FIXED gives its points whatever the amount', { calculation: 'FIXED', points: 25 }, 12_345, 25],
    ['FIXED gives its points without an amount', { calculation: 'FIXED', points: 25 }, null, 25],
    ['PER_AMOUNT counts whole steps of 1.00 by default', { calculation: 'PER_AMOUNT', points: 2 }, 12_399, 246],
    ['PER_AMOUNT with its own step', { calculation: 'PER_AMOUNT', points: 1, amountStep: 500 }, 2_499, 4],
    ['PER_AMOUNT below one step', { calculation: 'PER_AMOUNT', points: 5 }, 99, 0],
    ['PER_AMOUNT without an amount', { calculation: 'PER_AMOUNT', points: 5 }, null, 0],
  ])('%s', (_name, spec, amount, expected) => {
    const r = rule(spec);
    expect(calculations[r.calculation](r, purchase(amount))).toBe(expected);
  });
});

describe('minimum order (every calculation)', () => {
  it.each<[string, Partial<RuleSpec>, number | null, number]>([
    ['PER_AMOUNT below the minimum order', { calculation: 'PER_AMOUNT', points: 2, minOrderAmount: 10_000 }, 9_999, 0],
    ['PER_AMOUNT at the minimum order', { calculation: 'PER_AMOUNT', points: 2, minOrderAmount: 10_000 }, 10_000, 200],
    ['FIXED below the minimum order', { calculation: 'FIXED', points: 10, minOrderAmount: 5_000 }, 4_999, 0],
    ['FIXED at the minimum order', { calculation: 'FIXED', points: 10, minOrderAmount: 5_000 }, 5_000, 10],
    ['no amount is below any minimum', { calculation: 'FIXED', points: 10, minOrderAmount: 1 }, null, 0],
    ['a minimum of 0 lets an order without an amount through', { calculation: 'FIXED', points: 10, minOrderAmount: 0 }, null, 10],
  ])('%s', (_name, spec, amount, expected) => {
    expect(award(rule(spec), purchase(amount), member(), 'UTC')).toBe(expected);
  });
});

describe('triggers', () => {
  it.each<[string, Partial<RuleSpec>, ActivityFacts, boolean]>([
    ['a purchase fires PURCHASE', { trigger: 'PURCHASE' }, purchase(100), true],
    ['an event does not fire PURCHASE', { trigger: 'PURCHASE' }, event('review'), false],
    ['the named event fires CUSTOM_EVENT', { trigger: 'CUSTOM_EVENT', eventName: 'review' }, event('review'), true],
    ['another event does not', { trigger: 'CUSTOM_EVENT', eventName: 'review' }, event('referral'), false],
    ['a purchase does not fire CUSTOM_EVENT', { trigger: 'CUSTOM_EVENT', eventName: 'review' }, purchase(100), false],
  ])('%s', (_name, spec, activity, expected) => {
    const r = rule(spec);
    expect(triggers[r.trigger](r, activity)).toBe(expected);
  });
});

describe('award', () => {
  it.each<[string, Partial<RuleSpec>, ActivityFacts, Partial<MemberFacts>, number]>([
    ['the base award at multiplier 1', { calculation: 'PER_AMOUNT', points: 1 }, purchase(4_200), {}, 42],
    ['times the tier multiplier, exact products not lost to rounding', { calculation: 'PER_AMOUNT', points: 2 }, purchase(12_300), { earnMultiplier: 1.5 }, 369],
    ['floored after the multiplier', { calculation: 'FIXED', points: 5 }, purchase(100), { earnMultiplier: 1.25 }, 6],
    ['nothing when the trigger does not match', { trigger: 'CUSTOM_EVENT', eventName: 'review' }, purchase(10_000), { earnMultiplier: 2 }, 0],
    ['nothing when the calculation gives nothing', { calculation: 'PER_AMOUNT', points: 2, minOrderAmount: 10_000 }, purchase(5_000), { earnMultiplier: 2 }, 0],
    [
      'times the happy hour in the campaign zone, and the tier multiplier',
      { calculation: 'FIXED', points: 10, happyHours: [saturdayHappyHour] },
      purchase(100, saturdayMorningTokyo),
      { earnMultiplier: 1.5 },
      45,
    ],
  ])('%s', (_name, spec, activity, facts, expected) => {
    expect(award(rule(spec), activity, member(facts), 'Asia/Tokyo')).toBe(expected);
  });
});

describe('happy hours', () => {
  const at = (iso: string) => new Date(iso);
  it.each<[string, HappyHourSpec[], Date, string, number]>([
    ['none: multiplier 1', [], saturdayMorningTokyo, 'Asia/Tokyo', 1],
    ['Saturday morning in Tokyo', [saturdayHappyHour], saturdayMorningTokyo, 'Asia/Tokyo', 3],
    ['the same instant is Friday in UTC', [saturdayHappyHour], saturdayMorningTokyo, 'UTC', 1],
    ['the start is inclusive', [saturdayHappyHour], at('2026-11-20T23:00:00Z'), 'Asia/Tokyo', 3],
    ['the end is exclusive', [saturdayHappyHour], at('2026-11-21T00:00:00Z'), 'Asia/Tokyo', 1],
    ['another day of the week', [saturdayHappyHour], at('2026-11-21T23:30:00Z'), 'Asia/Tokyo', 1],
    ['Sunday is day 7', [{ ...saturdayHappyHour, daysOfWeek: [7] }], at('2026-11-21T23:30:00Z'), 'Asia/Tokyo', 3],
    [
      'the best of overlapping happy hours',
      [saturdayHappyHour, { daysOfWeek: [6], startTime: '08:15', endTime: '08:45', multiplier: 5 }, { daysOfWeek: [6], startTime: '00:00', endTime: '23:59', multiplier: 2 }],
      saturdayMorningTokyo,
      'Asia/Tokyo',
      5,
    ],
    ['never below 1', [{ ...saturdayHappyHour, multiplier: 0.5 }], saturdayMorningTokyo, 'Asia/Tokyo', 1],
    ['local time after a DST change (New York, EDT to EST)', [{ daysOfWeek: [7], startTime: '01:00', endTime: '02:00', multiplier: 2 }], at('2026-11-01T06:30:00Z'), 'America/New_York', 2],
  ])('%s', (_name, happyHours, occurredAt, zone, expected) => {
    expect(happyHourMultiplier(rule({ happyHours }), occurredAt, zone)).toBe(expected);
  });
});

describe('cap periods', () => {
  it.each<[CapPeriod, string, string, string]>([
    ['LIFETIME', '2026-11-20T23:30:00Z', 'Asia/Tokyo', 'L'],
    ['DAY', '2026-11-20T23:30:00Z', 'Asia/Tokyo', 'D:2026-11-21'],
    ['DAY', '2026-11-20T23:30:00Z', 'UTC', 'D:2026-11-20'],
    ['DAY', '2026-11-21T03:30:00Z', 'America/Los_Angeles', 'D:2026-11-20'],
    // Weeks start on Monday, in the campaign's zone.
    ['WEEK', '2026-11-20T23:30:00Z', 'Asia/Tokyo', 'W:2026-11-16'],
    ['WEEK', '2026-11-22T14:59:00Z', 'Asia/Tokyo', 'W:2026-11-16'],
    ['WEEK', '2026-11-22T15:00:00Z', 'Asia/Tokyo', 'W:2026-11-23'],
    ['WEEK', '2026-11-22T15:00:00Z', 'UTC', 'W:2026-11-16'],
    ['WEEK', '2027-01-01T12:00:00Z', 'UTC', 'W:2026-12-28'],
    ['WEEK', '2026-03-01T12:00:00Z', 'UTC', 'W:2026-02-23'],
    ['MONTH', '2026-11-30T15:30:00Z', 'Asia/Tokyo', 'M:2026-12'],
    ['MONTH', '2026-11-30T15:30:00Z', 'UTC', 'M:2026-11'],
    ['YEAR', '2026-12-31T15:00:00Z', 'Asia/Tokyo', 'Y:2027'],
    ['YEAR', '2026-12-31T15:00:00Z', 'Europe/Berlin', 'Y:2026'],
  ])('%s of %s in %s is %s', (period, iso, zone, expected) => {
    expect(periodKey(period, new Date(iso), zone)).toBe(expected);
  });
});

describe('eligibility', () => {
  it.each<[string, EligibilitySpec | null, Partial<MemberFacts>, boolean]>([
    ['no conditions', null, {}, true],
    ['unset conditions hold', { countries: null, minTierRank: undefined, attributeEquals: null }, {}, true],
    ['in one of the countries', { countries: ['FR', 'DE'] }, { country: 'DE' }, true],
    ['in none of the countries', { countries: ['FR'] }, { country: 'DE' }, false],
    ['without a country', { countries: ['FR'] }, { country: null }, false],
    ['at the minimum tier rank', { minTierRank: 2 }, { tierRank: 2 }, true],
    ['above it', { minTierRank: 2 }, { tierRank: 3 }, true],
    ['below it', { minTierRank: 2 }, { tierRank: 1 }, false],
    ['equal attributes', { attributeEquals: { vip: true, segment: 'gold' } }, { attributes: { vip: true, segment: 'gold', extra: 1 } }, true],
    ['a different attribute', { attributeEquals: { vip: true } }, { attributes: { vip: 'true' } }, false],
    ['a missing attribute', { attributeEquals: { vip: true } }, { attributes: {} }, false],
    ['deeply equal structured attributes', { attributeEquals: { tags: ['a', 'b'], address: { city: 'Berlin' } } }, { attributes: { tags: ['a', 'b'], address: { city: 'Berlin' } } }, true],
    ['arrays in another order', { attributeEquals: { tags: ['a', 'b'] } }, { attributes: { tags: ['b', 'a'] } }, false],
    ['every condition must hold', { countries: ['DE'], minTierRank: 1 }, { country: 'DE', tierRank: 0 }, false],
    ['all of them holding', { countries: ['DE'], minTierRank: 1, attributeEquals: { vip: true } }, { country: 'DE', tierRank: 1, attributes: { vip: true } }, true],
  ])('%s', (_name, eligibility, facts, expected) => {
    expect(isEligible(eligibility, member(facts))).toBe(expected);
  });
});

describe('time zones', () => {
  it.each([
    ['Asia/Tokyo', true],
    ['UTC', true],
    ['America/Argentina/Buenos_Aires', true],
    ['Mars/Olympus', false],
    ['', false],
  ])('%s is a time zone: %s', (name, expected) => {
    expect(isTimeZone(name)).toBe(expected);
  });
});

describe('pending credits (pendingDays)', () => {
  const at = new Date('2026-11-23T14:00:00.000Z');
  it.each<[string, ActivityFacts['type'], (number | undefined)[], string | null]>([
    ['no awarding rule holds points back', 'PURCHASE', [0, 0], null],
    ['rules stored before pendingDays existed hold nothing back', 'PURCHASE', [undefined], null],
    ['one credit per activity: the longest pendingDays of the awarding rules wins', 'PURCHASE', [3, 7, 0], '2026-11-30T14:00:00.000Z'],
    ['counted from when the purchase happened', 'PURCHASE', [1], '2026-11-24T14:00:00.000Z'],
    ['a custom event is never held back', 'CUSTOM_EVENT', [7], null],
  ])('%s', (_name, type, days, expected) => {
    const held = pendingUntil({ type, occurredAt: at }, days.map((pendingDays) => ({ pendingDays })));
    expect(held?.toISOString() ?? null).toBe(expected);
  });
});
