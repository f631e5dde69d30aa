import { describe, expect, it } from '@jest/globals';
import { checkConditions, inSegment, segmentSql, positional } from '../../subgraphs/members/src/segment/segment.rule';
import { CASES, NOW } from '../support/segment-cases';

// The pure rules of segments: which input is refused (naming the field), and who is in a segment.
// test/segments.test.ts runs the same CASES through the SQL of the conditions in PostgreSQL.
describe('segment conditions', () => {
  it.each(CASES)('%s', (_name, conditions, member, expected) => {
    expect(inSegment(conditions, member, NOW)).toBe(expected);
  });

  it.each([
    ['countries empty', { countries: [] }, 'conditions.countries'],
    ['countries not codes', { countries: ['DEU'] }, 'conditions.countries'],
    ['minTierRank negative', { minTierRank: -1 }, 'conditions.minTierRank'],
    ['minTierRank not whole', { minTierRank: 1.5 }, 'conditions.minTierRank'],
    ['attributeEquals not an object', { attributeEquals: [1] }, 'conditions.attributeEquals'],
    ['attributeEquals empty', { attributeEquals: {} }, 'conditions.attributeEquals'],
    ['attributeEquals too many names', { attributeEquals: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, i])) }, 'conditions.attributeEquals'],
    ['minLifetimeEarned negative', { minLifetimeEarned: -5 }, 'conditions.minLifetimeEarned'],
    ['enrolledWithinDays 0', { enrolledWithinDays: 0 }, 'conditions.enrolledWithinDays'],
    ['inactiveForDays too large', { inactiveForDays: 3651 }, 'conditions.inactiveForDays'],
    ['activeWithinDays 0', { activeWithinDays: 0 }, 'conditions.activeWithinDays'],
    ['inactive for longer than active within: nobody', { inactiveForDays: 30, activeWithinDays: 30 }, 'conditions.inactiveForDays'],
  ])('refuses %s', (_name, input, field) => {
    expect(() => checkConditions(input as Record<string, unknown>)).toThrow(expect.objectContaining({ code: 'BAD_USER_INPUT', field }));
  });

  it('keeps what it was given, normalised, and drops unset conditions', () => {
    expect(checkConditions({ countries: ['de', 'DE', 'fr'], minTierRank: null, activeWithinDays: 30, inactiveForDays: 7 })).toEqual({
      countries: ['DE', 'FR'],
      inactiveForDays: 7,
      activeWithinDays: 30,
    });
  });

  it('compiles every set condition to SQL with its values as parameters, never in the text', () => {
    const params: unknown[] = [];
    const sql = segmentSql({ countries: ["D'E"], attributeEquals: { "x'); DROP TABLE members; --": 1 } }, positional(params), NOW);
    expect(sql).not.toContain('DROP');
    expect(sql).toContain("f.status = 'ACTIVE'");
    expect(params).toEqual([["D'E"], "x'); DROP TABLE members; --", '1']);
  });
});
