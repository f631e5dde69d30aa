import type { SegmentConditionsSpec, SegmentFacts } from '../../subgraphs/members/src/segment/segment.rule';

// Segment conditions against members, with the expected answer: the unit test runs them through the
// TypeScript evaluation, test/segments.test.ts through the SQL of the same conditions.
export const NOW = new Date('2026-06-15T12:00:00.000Z');
const DAY = 86_400_000;
export const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);

export const member = (facts: Partial<SegmentFacts> = {}): SegmentFacts => ({
  status: 'ACTIVE',
  country: 'DE',
  tierRank: 1,
  attributes: { vip: true, city: 'Berlin', tags: ['a', 'b'], score: 3 },
  lifetimeEarned: 500,
  enrolledAt: daysAgo(100),
  lastActiveAt: daysAgo(10),
  ...facts,
});

export const CASES: [string, SegmentConditionsSpec, SegmentFacts, boolean][] = [
  ['no condition: every active member', {}, member(), true],
  ['a suspended member is in no segment', {}, member({ status: 'SUSPENDED' }), false],
  ['an erased member is in no segment', {}, member({ status: 'ERASED' }), false],
  ['country listed', { countries: ['FR', 'DE'] }, member(), true],
  ['country not listed', { countries: ['FR'] }, member(), false],
  ['no country never matches a list', { countries: ['DE'] }, member({ country: null }), false],
  ['tier rank equal to the minimum', { minTierRank: 1 }, member(), true],
  ['tier rank below the minimum', { minTierRank: 2 }, member(), false],
  ['attribute equal', { attributeEquals: { vip: true, city: 'Berlin' } }, member(), true],
  ['attribute different', { attributeEquals: { city: 'Munich' } }, member(), false],
  ['attribute of another JSON type', { attributeEquals: { score: '3' } }, member(), false],
  ['array attribute must be equal, not contain', { attributeEquals: { tags: ['a'] } }, member(), false],
  ['array attribute equal', { attributeEquals: { tags: ['a', 'b'] } }, member(), true],
  ['missing attribute does not equal null', { attributeEquals: { missing: null } }, member(), false],
  ['attribute set to null equals null', { attributeEquals: { gone: null } }, member({ attributes: { gone: null } }), true],
  ['lifetime earned at the minimum', { minLifetimeEarned: 500 }, member(), true],
  ['lifetime earned below the minimum', { minLifetimeEarned: 501 }, member(), false],
  ['enrolled within the days', { enrolledWithinDays: 101 }, member(), true],
  ['enrolled exactly that many days ago is outside', { enrolledWithinDays: 100 }, member(), false],
  ['inactive long enough', { inactiveForDays: 10 }, member(), true],
  ['inactive not long enough', { inactiveForDays: 11 }, member(), false],
  ['never active: inactive since enrolment', { inactiveForDays: 30 }, member({ lastActiveAt: null }), true],
  ['never active, enrolled recently', { inactiveForDays: 30 }, member({ lastActiveAt: null, enrolledAt: daysAgo(5) }), false],
  ['active within the days', { activeWithinDays: 11 }, member(), true],
  ['last active exactly that many days ago is outside', { activeWithinDays: 10 }, member(), false],
  ['never active is not active', { activeWithinDays: 3650 }, member({ lastActiveAt: null }), false],
  ['every condition holds', { countries: ['DE'], minTierRank: 1, attributeEquals: { vip: true }, minLifetimeEarned: 100, enrolledWithinDays: 365, inactiveForDays: 7, activeWithinDays: 30 }, member(), true],
  ['one condition of many fails', { countries: ['DE'], minTierRank: 1, minLifetimeEarned: 1000 }, member(), false],
];
