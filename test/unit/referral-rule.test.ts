import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { READABLE_ALPHABET, normalizeReadableCode, readableCode } from '@loyalty/kit';
import { normalizeReferralCode, referralRefusal, type ReferralIdentity, type ReferralLink } from '../../subgraphs/members/src/member/referral.rule';
import { award, rewardsReferrer, type ActivityFacts, type MemberFacts, type RuleSpec } from '../../subgraphs/campaigns/src/rules/rules';

const person = (email: string | null, externalId: string | null = null): ReferralIdentity => ({ email, externalId });
const link = (id: string, email: string | null, externalId: string | null = null): ReferralLink => ({ id, email, externalId });

describe('readable codes', () => {
  it('are drawn from the readable alphabet, grouped by four', () => {
    for (let i = 0; i < 200; i++) {
      const code = readableCode(8);
      assert.match(code, /^[A-Z2-9]{4}-[A-Z2-9]{4}$/);
      assert.ok([...code.replace('-', '')].every((c) => READABLE_ALPHABET.includes(c)), code);
    }
    assert.match(readableCode(12), /^.{4}-.{4}-.{4}$/);
  });

  const cases: [string, string | null][] = [
    ['K7QM-9XR2', 'K7QM-9XR2'],
    ['k7qm9xr2', 'K7QM-9XR2'],
    [' k7qm 9xr2 ', 'K7QM-9XR2'],
    ['K7-QM-9X-R2', 'K7QM-9XR2'],
    ['K7QM-9XR', null],
    ['K7QM-9XR22', null],
    ['O7QM-9XR2', null], // O is not in the alphabet (0/O)
    ['17QM-9XR2', null], // nor 1 (1/I/L)
    ['K7QM_9XR2', null],
    ['', null],
  ];
  it.each(cases)('normalise %p as a referral code to %p', (input, expected) => {
    assert.equal(normalizeReferralCode(input), expected);
  });

  it('normalise to the length asked for', () => {
    assert.equal(normalizeReadableCode('abcd-efgh-jkmn', 12), 'ABCD-EFGH-JKMN');
    assert.equal(normalizeReadableCode('abcd-efgh', 12), null);
  });
});

describe('referral refusal', () => {
  const a = link('a', 'ann@example.com', 'crm-a');
  const b = link('b', 'bob@example.com');
  const c = link('c', null); // erased: no email left to recognise
  const cases: [string, ReferralIdentity, ReferralLink[], ReturnType<typeof referralRefusal>][] = [
    ['a new person referred by a', person('new@example.com'), [a], null],
    ['a new person, long chain', person('new@example.com', 'crm-new'), [b, a, c], null],
    ['the referrer itself, by email', person('ann@example.com'), [a], 'SELF_REFERRAL'],
    ['the referrer itself, email in other case and spaces', person(' ANN@example.com '), [a], 'SELF_REFERRAL'],
    ['the referrer itself, by externalId', person('other@example.com', 'crm-a'), [a], 'SELF_REFERRAL'],
    ['a referring one it referred (direct)', person('ann@example.com'), [b, a], 'REFERRAL_LOOP'],
    ['a referring one it referred (indirect)', person(null, 'crm-a'), [c, b, a], 'REFERRAL_LOOP'],
    ['no email on either side is no match', person(null), [c], null],
    ['externalIds compare exactly', person('x@example.com', 'CRM-A'), [a], null],
    ['an empty chain (no referrer)', person('ann@example.com'), [], null],
  ];
  it.each(cases)('%s', (_name, enrolling, chain, expected) => {
    assert.equal(referralRefusal(enrolling, chain), expected);
  });
});

describe('REFERRAL trigger', () => {
  const member: MemberFacts = { country: 'DE', tierRank: 0, earnMultiplier: 1.5, attributes: {} };
  const rule = (extra: Partial<RuleSpec>): RuleSpec => ({
    id: 'r',
    name: 'referral',
    trigger: 'REFERRAL',
    eventName: null,
    calculation: 'FIXED',
    points: 500,
    amountStep: null,
    minOrderAmount: null,
    maxPointsPerMember: null,
    capPeriod: null,
    happyHours: [],
    ...extra,
  });
  const facts = (type: ActivityFacts['type'], amount: number | null): ActivityFacts => ({ type, amount, eventName: null, occurredAt: new Date('2026-03-02T12:00:00Z') });
  const cases: [string, Partial<RuleSpec>, ActivityFacts, number][] = [
    ['FIXED on a REFERRAL, times the tier multiplier', {}, facts('REFERRAL', 4000), 750],
    ['PER_AMOUNT of the first purchase', { calculation: 'PER_AMOUNT', points: 2, amountStep: 100 }, facts('REFERRAL', 4000), 120],
    ['below the minimum first purchase', { minOrderAmount: 5000 }, facts('REFERRAL', 4000), 0],
    ['at the minimum first purchase', { minOrderAmount: 4000 }, facts('REFERRAL', 4000), 750],
    ['a PURCHASE does not fire it', {}, facts('PURCHASE', 4000), 0],
    ['a REFERRAL does not fire a PURCHASE rule', { trigger: 'PURCHASE' }, facts('REFERRAL', 4000), 0],
  ];
  it.each(cases)('%s', (_name, spec, activity, expected) => {
    assert.equal(award(rule(spec), activity, member, 'UTC'), expected);
  });

  const referrerCases: [string, ActivityFacts['type'], string, string | null, boolean][] = [
    ['a referred ACTIVE member’s purchase', 'PURCHASE', 'ACTIVE', 'r1', true],
    ['an unreferred member’s purchase', 'PURCHASE', 'ACTIVE', null, false],
    ['a referred SUSPENDED member’s purchase', 'PURCHASE', 'SUSPENDED', 'r1', false],
    ['a referred member’s custom event', 'CUSTOM_EVENT', 'ACTIVE', 'r1', false],
  ];
  it.each(referrerCases)('%s may reward the referrer: %p %p %p → %p', (_name, type, status, referredBy, expected) => {
    assert.equal(rewardsReferrer({ type }, { status, referredBy }), expected);
  });
});
