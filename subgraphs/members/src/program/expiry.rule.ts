/**
 * The expiry rule, whole: when a credit's lot expires, when it counts as expired, and when its
 * reminders are due. Pure, with the clock passed in, so it can be checked without a database; the
 * ledger calls it inside its transactions with the tenant's policy (ProgramService.policy).
 *
 * A day is a calendar day in the program's time zone (calendar.ts): "30 days after 10:00" is 10:00
 * thirty days later on the wall clock, whatever daylight saving does in between.
 *
 * - NEVER: lots never expire.
 * - AFTER_DAYS: a lot expires `days` after it was earned. With `roundTo`, it expires instead at the
 *   first instant of the month, quarter or year after the one that holds that moment, in the
 *   program's zone: 30 days + END_OF_QUARTER from 2026-11-23 in Europe/Warsaw is 2026-12-23, in the
 *   fourth quarter, so the lot expires at 2027-01-01T00:00:00+01:00.
 * - ROLLING: a lot expires `days` after it was earned, never rounded; on each EARN or REDEEM the
 *   ledger moves every open lot of the member to `lotExpiry(policy, that moment)`, so all of a
 *   member's points expire `days` after its last EARN or REDEEM.
 * - A lot is expired from its `expiresAt` on (`isExpired`): the instant itself is already past it.
 * - Reminder day `d` of a lot is due from `d` days before its expiry until it expires. A lot whose
 *   expiry is nearer than several reminder days has all of them due at once.
 */
import { addDays, startOfNextPeriod, type CalendarPeriod } from './calendar';
import type { ExpiryRounding, ProgramPolicy } from './program.policy';

/** What the expiry rule reads of a policy. */
export type ExpiryTerms = Pick<ProgramPolicy, 'timeZone' | 'expiry'>;

const PERIOD: Record<Exclude<ExpiryRounding, 'NONE'>, CalendarPeriod> = {
  END_OF_MONTH: 'month',
  END_OF_QUARTER: 'quarter',
  END_OF_YEAR: 'year',
};

/** When a lot earned at `earnedAt` expires under `policy`; null when it never does. */
export function lotExpiry(policy: ExpiryTerms, earnedAt: Date): Date | null {
  const { mode, days, roundTo } = policy.expiry;
  if (mode === 'NEVER' || days === null) return null;
  const due = addDays(earnedAt, days, policy.timeZone);
  if (mode === 'ROLLING' || roundTo === 'NONE') return due;
  return startOfNextPeriod(due, PERIOD[roundTo], policy.timeZone);
}

/** Whether a lot that expires at `expiresAt` (null: never) is expired at `now`. The ledger's SQL says the same: `expires_at <= now`. */
export const isExpired = (expiresAt: Date | null, now: Date): boolean => expiresAt !== null && expiresAt.getTime() <= now.getTime();

/** From when reminder day `day` of a lot that expires at `expiresAt` is due. */
export const reminderDueAt = (policy: Pick<ProgramPolicy, 'timeZone'>, expiresAt: Date, day: number): Date => addDays(expiresAt, -day, policy.timeZone);

/**
 * The reminder days of `policy` that are due at `now` for a lot that expires at `expiresAt`,
 * in the order they fell due (most days first). None once the lot has expired. Which of them were
 * already sent is the caller's record: a reminder goes out once per lot and day.
 */
export function dueReminders(policy: ExpiryTerms, expiresAt: Date, now: Date): number[] {
  if (isExpired(expiresAt, now)) return [];
  return policy.expiry.reminderDays
    .filter((day) => reminderDueAt(policy, expiresAt, day).getTime() <= now.getTime())
    .sort((a, b) => b - a);
}
