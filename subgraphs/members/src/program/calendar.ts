/**
 * The program's calendar: days, months, quarters and years counted in the program's time zone
 * (luxon does the time-zone arithmetic). Every rule that adds days or finds a period's start goes
 * through here, so "a day" means the same everywhere: a calendar day in the program's zone, which
 * keeps the wall-clock time across a daylight-saving change (23 or 25 hours on those days).
 */
import { DateTime, IANAZone } from 'luxon';

export type CalendarPeriod = 'month' | 'quarter' | 'year';

/** Whether `name` is a time zone of the IANA database (case-insensitive, as Intl accepts it). */
export const isTimeZone = (name: string): boolean => IANAZone.isValidZone(name);

/** The zone's canonical spelling (`europe/warsaw` → `Europe/Warsaw`); `name` must be valid. */
export const canonicalTimeZone = (name: string): string => new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;

function zoned(instant: Date, timeZone: string): DateTime {
  const local = DateTime.fromJSDate(instant, { zone: timeZone });
  // Policies are validated when stored, so this is a bug, not bad input.
  if (!local.isValid) throw new RangeError(`Cannot place ${String(instant)} in time zone ${timeZone}: ${local.invalidReason}`);
  return local;
}

function instant(local: DateTime): Date {
  if (!local.isValid) throw new RangeError(`Date out of range: ${local.invalidReason}`);
  return local.toJSDate();
}

/** `days` calendar days after (or, negative, before) `at`, at the same wall-clock time in the zone. */
export const addDays = (at: Date, days: number, timeZone: string): Date => instant(zoned(at, timeZone).plus({ days }));

/** The first instant of the period (in the zone) after the one that holds `at`. */
export const startOfNextPeriod = (at: Date, period: CalendarPeriod, timeZone: string): Date =>
  instant(zoned(at, timeZone).startOf(period).plus({ [period]: 1 }).startOf(period));

/** The first instant of the day (in the zone) `months` calendar months before `at`; a missing day (31 → 30) takes the month's last. */
export const startOfDayMonthsBefore = (at: Date, months: number, timeZone: string): Date =>
  instant(zoned(at, timeZone).minus({ months }).startOf('day'));

/** The first instant of the calendar day (in the zone) that holds `at`. */
export const startOfDay = (at: Date, timeZone: string): Date => instant(zoned(at, timeZone).startOf('day'));

/** The calendar day (YYYY-MM-DD) that holds `at` in the zone. */
export const dayIn = (at: Date, timeZone: string): string => zoned(at, timeZone).toISODate()!;
