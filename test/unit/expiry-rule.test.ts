import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { dueReminders, isExpired, lotExpiry, reminderDueAt, type ExpiryTerms } from '../../subgraphs/members/src/program/expiry.rule';
import type { ExpiryPolicySpec } from '../../subgraphs/members/src/program/program.policy';
import { qualificationWindowStart } from '../../subgraphs/members/src/tier/tier.rule';

const policy = (timeZone: string, expiry: Partial<ExpiryPolicySpec>): ExpiryTerms => ({
  timeZone,
  expiry: { mode: 'AFTER_DAYS', days: 30, roundTo: 'NONE', reminderDays: [], ...expiry },
});
/** Instants are written with their offset, so each case reads as the wall clock of its zone. */
const at = (iso: string) => new Date(iso);

describe('lotExpiry', () => {
  it.each<[string, string, Partial<ExpiryPolicySpec>, string, string | null]>([
    // The example of the docs: 2026-12-23 lies in the fourth quarter, so the lot lasts until the next one starts.
    ['30 days + END_OF_QUARTER from 2026-11-23 in Warsaw', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_QUARTER' }, '2026-11-23T15:45:00+01:00', '2027-01-01T00:00:00+01:00'],
    ['the same from the first minute of 2026-11-23', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_QUARTER' }, '2026-11-23T00:00:00+01:00', '2027-01-01T00:00:00+01:00'],
    ['NEVER expires nothing', 'UTC', { mode: 'NEVER', days: null }, '2026-05-05T10:00:00Z', null],

    // Month ends and leap years (NONE: exactly `days` calendar days later).
    ['Jan 31 + 30 days is Mar 2 in a common year', 'UTC', { days: 30 }, '2026-01-31T12:00:00Z', '2026-03-02T12:00:00Z'],
    ['Jan 31 + 30 days is Mar 1 in a leap year', 'UTC', { days: 30 }, '2028-01-31T12:00:00Z', '2028-03-01T12:00:00Z'],
    ['Feb 28 + 1 day is Feb 29 in a leap year', 'UTC', { days: 1 }, '2028-02-28T08:00:00Z', '2028-02-29T08:00:00Z'],
    ['Feb 28 + 1 day is Mar 1 in a common year', 'UTC', { days: 1 }, '2027-02-28T08:00:00Z', '2027-03-01T08:00:00Z'],
    ['365 days from Jan 1 of a leap year end on Dec 31', 'UTC', { days: 365 }, '2028-01-01T00:00:00Z', '2028-12-31T00:00:00Z'],
    ['365 days from Jan 1 of a common year end on the next Jan 1', 'UTC', { days: 365 }, '2027-01-01T00:00:00Z', '2028-01-01T00:00:00Z'],

    // Days keep the wall-clock time across daylight-saving changes (a 23- or 25-hour day in between).
    ['into summer time in Warsaw', 'Europe/Warsaw', { days: 30 }, '2026-03-20T10:00:00+01:00', '2026-04-19T10:00:00+02:00'],
    ['into winter time in Warsaw', 'Europe/Warsaw', { days: 30 }, '2026-10-10T10:00:00+02:00', '2026-11-09T10:00:00+01:00'],
    ['into daylight time in New York', 'America/New_York', { days: 10 }, '2026-03-01T12:00:00-05:00', '2026-03-11T12:00:00-04:00'],
    ['a wall-clock time the change skips moves on by the gap', 'Europe/Warsaw', { days: 28 }, '2026-03-01T02:30:00+01:00', '2026-03-29T03:30:00+02:00'],
    ['a midnight the change skips (Santiago) moves on by the gap', 'America/Santiago', { days: 30 }, '2026-08-07T00:30:00-04:00', '2026-09-06T01:30:00-03:00'],
    ['in UTC a day is always 24 hours', 'UTC', { days: 30 }, '2026-03-20T10:00:00Z', '2026-04-19T10:00:00Z'],

    // Rounding: the first instant of the period after the one that holds the moment, in the zone.
    ['END_OF_MONTH after a month end', 'UTC', { days: 30, roundTo: 'END_OF_MONTH' }, '2026-01-31T12:00:00Z', '2026-04-01T00:00:00Z'],
    ['END_OF_MONTH from a moment that is a month start goes to the next', 'UTC', { days: 28, roundTo: 'END_OF_MONTH' }, '2026-02-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    ['END_OF_MONTH in summer time', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_MONTH' }, '2026-06-10T09:00:00+02:00', '2026-08-01T00:00:00+02:00'],
    ['END_OF_MONTH in a half-hour zone', 'Asia/Kolkata', { days: 10, roundTo: 'END_OF_MONTH' }, '2026-05-25T09:00:00+05:30', '2026-07-01T00:00:00+05:30'],
    ['END_OF_QUARTER on the last day of a quarter', 'UTC', { days: 30, roundTo: 'END_OF_QUARTER' }, '2026-03-01T12:00:00Z', '2026-04-01T00:00:00Z'],
    ['END_OF_QUARTER on the first day of a quarter', 'UTC', { days: 30, roundTo: 'END_OF_QUARTER' }, '2026-03-02T12:00:00Z', '2026-07-01T00:00:00Z'],
    ['END_OF_QUARTER into summer time', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_QUARTER' }, '2026-02-15T12:00:00+01:00', '2026-04-01T00:00:00+02:00'],
    ['END_OF_YEAR a year on', 'UTC', { days: 365, roundTo: 'END_OF_YEAR' }, '2026-06-15T12:00:00Z', '2028-01-01T00:00:00Z'],
    ['END_OF_YEAR within the year', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_YEAR' }, '2026-12-01T12:00:00+01:00', '2027-01-01T00:00:00+01:00'],
    ['END_OF_YEAR from a leap day', 'UTC', { days: 366, roundTo: 'END_OF_YEAR' }, '2028-02-29T12:00:00Z', '2030-01-01T00:00:00Z'],
    // 2026-12-31T23:30Z is already 2027-01-01 00:30 in Warsaw: the zone decides which period holds the moment.
    ['END_OF_MONTH counts the UTC month in UTC', 'UTC', { days: 30, roundTo: 'END_OF_MONTH' }, '2026-12-01T23:30:00Z', '2027-01-01T00:00:00Z'],
    ['END_OF_MONTH counts the Warsaw month in Warsaw', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_MONTH' }, '2026-12-01T23:30:00Z', '2027-02-01T00:00:00+01:00'],
    ['END_OF_YEAR counts the Warsaw year in Warsaw', 'Europe/Warsaw', { days: 30, roundTo: 'END_OF_YEAR' }, '2026-12-01T23:30:00Z', '2028-01-01T00:00:00+01:00'],

    // ROLLING: `days` after the moment, never rounded (the ledger moves open lots on each EARN or REDEEM).
    ['ROLLING is days after the moment', 'UTC', { mode: 'ROLLING', days: 90 }, '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    ['ROLLING ignores a rounding it should not have', 'UTC', { mode: 'ROLLING', days: 90, roundTo: 'END_OF_YEAR' }, '2026-01-01T00:00:00Z', '2026-04-01T00:00:00Z'],
    ['ROLLING keeps the wall clock across a change', 'Europe/Warsaw', { mode: 'ROLLING', days: 30 }, '2026-10-10T10:00:00+02:00', '2026-11-09T10:00:00+01:00'],
  ])('%s', (_name, timeZone, expiry, earnedAt, expected) => {
    const result = lotExpiry(policy(timeZone, expiry), at(earnedAt));
    assert.equal(result?.toISOString() ?? null, expected && at(expected).toISOString());
  });

  it('leaves the policy it reads as it was', () => {
    const terms = policy('Europe/Warsaw', { days: 30, roundTo: 'END_OF_QUARTER', reminderDays: [7, 30] });
    lotExpiry(terms, at('2026-11-23T12:00:00Z'));
    dueReminders(terms, at('2027-01-01T00:00:00+01:00'), at('2026-12-30T00:00:00Z'));
    assert.deepEqual(terms.expiry.reminderDays, [7, 30]);
  });
});

describe('isExpired', () => {
  const expiresAt = at('2027-01-01T00:00:00+01:00');
  it.each<[string, Date | null, string, boolean]>([
    ['a millisecond before', expiresAt, '2026-12-31T22:59:59.999Z', false],
    ['at the instant itself', expiresAt, '2026-12-31T23:00:00.000Z', true],
    ['after it', expiresAt, '2027-03-01T00:00:00Z', true],
    ['a lot that never expires', null, '2100-01-01T00:00:00Z', false],
  ])('%s', (_name, expiry, now, expected) => {
    assert.equal(isExpired(expiry, at(now)), expected);
  });
});

describe('reminders', () => {
  const terms = policy('Europe/Warsaw', { days: 90, reminderDays: [30, 7, 1] });
  const expiresAt = at('2027-01-01T00:00:00+01:00');

  it.each<[string, string, number[]]>([
    ['none before the first reminder day', '2026-12-01T23:59:59.999+01:00', []],
    ['day 30 from 30 days before', '2026-12-02T00:00:00+01:00', [30]],
    ['day 30 and day 7 a week before', '2026-12-25T00:00:00+01:00', [30, 7]],
    ['every day on the last day', '2026-12-31T00:00:00+01:00', [30, 7, 1]],
    ['a millisecond before expiry', '2026-12-31T23:59:59.999+01:00', [30, 7, 1]],
    ['none once expired', '2027-01-01T00:00:00+01:00', []],
  ])('%s', (_name, now, expected) => {
    assert.deepEqual(dueReminders(terms, expiresAt, at(now)), expected);
  });

  it('lists the due days most first whatever order the policy has, and none without reminder days', () => {
    assert.deepEqual(dueReminders(policy('UTC', { reminderDays: [1, 30, 7] }), at('2026-06-30T00:00:00Z'), at('2026-06-29T12:00:00Z')), [30, 7, 1]);
    assert.deepEqual(dueReminders(policy('UTC', { reminderDays: [] }), at('2026-06-30T00:00:00Z'), at('2026-06-29T12:00:00Z')), []);
  });

  it('counts reminder days as calendar days in the zone, across a daylight-saving change', () => {
    // From 2026-03-25 to 2026-04-01 in Warsaw is 7 days but 167 hours: the clocks went forward on 03-29.
    assert.equal(reminderDueAt({ timeZone: 'Europe/Warsaw' }, at('2026-04-01T00:00:00+02:00'), 7).toISOString(), at('2026-03-25T00:00:00+01:00').toISOString());
    assert.equal(reminderDueAt({ timeZone: 'UTC' }, at('2026-04-01T00:00:00Z'), 7).toISOString(), '2026-03-25T00:00:00.000Z');
  });
});

describe('qualificationWindowStart', () => {
  it.each<[string, string, number, string, string]>([
    ['twelve months back, at the start of that day', '2026-03-31T15:00:00Z', 12, 'UTC', '2025-03-31T00:00:00Z'],
    ['a missing day takes the month end (Mar 31 → Feb 28)', '2026-03-31T15:00:00Z', 1, 'UTC', '2026-02-28T00:00:00Z'],
    ['into a leap February (Mar 31 → Feb 29)', '2028-03-31T15:00:00Z', 1, 'UTC', '2028-02-29T00:00:00Z'],
    ['from a leap day a year back', '2028-02-29T10:00:00Z', 12, 'UTC', '2027-02-28T00:00:00Z'],
    ['onto a leap day a year back', '2029-02-28T10:00:00Z', 12, 'UTC', '2028-02-28T00:00:00Z'],
    ['ten years back', '2026-07-15T10:00:00Z', 120, 'UTC', '2016-07-15T00:00:00Z'],
    // 2026-06-30T23:30Z is already July 1 in Warsaw.
    ['the day is the zone’s day (UTC)', '2026-06-30T23:30:00Z', 12, 'UTC', '2025-06-30T00:00:00Z'],
    ['the day is the zone’s day (Warsaw)', '2026-06-30T23:30:00Z', 12, 'Europe/Warsaw', '2025-07-01T00:00:00+02:00'],
    ['the start of a summer day from winter', '2026-11-15T12:00:00Z', 6, 'Europe/Warsaw', '2026-05-15T00:00:00+02:00'],
    ['a day start the clocks skip (Santiago) is the first instant that day has', '2027-03-06T12:00:00-03:00', 6, 'America/Santiago', '2026-09-06T01:00:00-03:00'],
  ])('%s', (_name, now, months, timeZone, expected) => {
    assert.equal(qualificationWindowStart(at(now), months, timeZone).toISOString(), at(expected).toISOString());
  });
});
