import { isDeepStrictEqual } from 'node:util';

/**
 * The earning rule engine, free of I/O. Conditions (eligibility), triggers and calculations are
 * tables keyed by name: a new condition or calculation type is one new entry, and nothing else
 * changes. The award of a rule is floor(base × tier multiplier × happy-hour multiplier), then
 * clipped by its per-member cap and the campaign budget (by the caller, which holds the counters).
 */

/** REFERRAL: made by the system for a referrer when a member it referred makes its first PURCHASE. */
export type Trigger = 'PURCHASE' | 'CUSTOM_EVENT' | 'REFERRAL';
export type Calculation = 'FIXED' | 'PER_AMOUNT';
export type CapPeriod = 'DAY' | 'WEEK' | 'MONTH' | 'YEAR' | 'LIFETIME';

export interface HappyHourSpec {
  /** 1 = Monday … 7 = Sunday, in the campaign's time zone. */
  daysOfWeek: number[];
  /** HH:MM, inclusive. */
  startTime: string;
  /** HH:MM, exclusive. */
  endTime: string;
  multiplier: number;
}

export interface RuleSpec {
  id: string;
  name: string;
  trigger: Trigger;
  eventName: string | null;
  calculation: Calculation;
  points: number;
  amountStep: number | null;
  minOrderAmount: number | null;
  maxPointsPerMember: number | null;
  capPeriod: CapPeriod | null;
  happyHours: HappyHourSpec[];
  /** PURCHASE: days the points stay pending (a return window). Rules stored before it existed: 0. */
  pendingDays?: number;
}

export interface EligibilitySpec {
  countries?: string[] | null;
  minTierRank?: number | null;
  attributeEquals?: Record<string, unknown> | null;
  /** The member is in any of these segments (members decides who is in them). */
  segmentIds?: string[] | null;
}

export interface ActivityFacts {
  type: Trigger;
  /** Minor units: a PURCHASE's amount; a REFERRAL's is that of the referred member's first purchase. */
  amount: number | null;
  eventName: string | null;
  occurredAt: Date;
}

export interface MemberFacts {
  country: string | null;
  tierRank: number;
  earnMultiplier: number;
  attributes: Record<string, unknown>;
  /** The segments the member is in now (the member snapshot); none when not given. */
  segmentIds?: readonly string[];
}

type Conditions = { [K in keyof EligibilitySpec]-?: (expected: NonNullable<EligibilitySpec[K]>, member: MemberFacts) => boolean };

export const conditions: Conditions = {
  countries: (countries, member) => member.country !== null && countries.includes(member.country),
  minTierRank: (rank, member) => member.tierRank >= rank,
  attributeEquals: (expected, member) => Object.entries(expected).every(([key, value]) => isDeepStrictEqual(member.attributes[key], value)),
  segmentIds: (ids, member) => ids.some((id) => (member.segmentIds ?? []).includes(id)),
};

export const triggers: Record<Trigger, (rule: RuleSpec, activity: ActivityFacts) => boolean> = {
  PURCHASE: (_rule, activity) => activity.type === 'PURCHASE',
  CUSTOM_EVENT: (rule, activity) => activity.type === 'CUSTOM_EVENT' && activity.eventName === rule.eventName,
  REFERRAL: (_rule, activity) => activity.type === 'REFERRAL',
};

/**
 * Whether a PURCHASE is one that can reward the member's referrer: the member was referred, and
 * the purchase is recorded while it is ACTIVE (a suspended member's purchases earn nothing and do
 * not count). Only the first such purchase does (the referral reward is keyed by the member).
 */
export const rewardsReferrer = (activity: Pick<ActivityFacts, 'type'>, member: { status: string; referredBy: string | null }): boolean =>
  activity.type === 'PURCHASE' && member.status === 'ACTIVE' && member.referredBy !== null;

export const calculations: Record<Calculation, (rule: RuleSpec, activity: ActivityFacts) => number> = {
  FIXED: (rule) => rule.points,
  PER_AMOUNT: (rule, activity) => (activity.amount === null ? 0 : rule.points * Math.floor(activity.amount / (rule.amountStep ?? 100))),
};

/** `minOrderAmount` gates every calculation: an activity without an amount is below any minimum. */
const meetsMinimum = (rule: RuleSpec, activity: ActivityFacts) => rule.minOrderAmount === null || (activity.amount ?? 0) >= rule.minOrderAmount;

/** Every condition the campaign sets must hold (an unset one holds). */
export function isEligible(eligibility: EligibilitySpec | null, member: MemberFacts): boolean {
  if (!eligibility) return true;
  return (Object.keys(conditions) as (keyof EligibilitySpec)[]).every((name) => {
    const expected = eligibility[name];
    if (expected === null || expected === undefined) return true;
    return (conditions[name] as (expected: unknown, member: MemberFacts) => boolean)(expected, member);
  });
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };

/** Calendar parts of an instant in an IANA time zone. */
export function localTime(instant: Date, timeZone: string) {
  let format = formatters.get(timeZone);
  if (!format) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      weekday: 'short',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, format);
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((p) => [p.type, p.value]));
  return {
    year: parts.year!,
    month: parts.month!,
    day: parts.day!,
    time: `${parts.hour}:${parts.minute}`,
    weekday: WEEKDAYS[parts.weekday!]!,
  };
}

export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** The best matching happy hour's multiplier at `occurredAt` in the campaign's zone, else 1. */
export function happyHourMultiplier(rule: RuleSpec, occurredAt: Date, timeZone: string): number {
  if (rule.happyHours.length === 0) return 1;
  const local = localTime(occurredAt, timeZone);
  const matching = rule.happyHours.filter(
    (h) => h.daysOfWeek.includes(local.weekday) && local.time >= h.startTime && local.time < h.endTime,
  );
  return Math.max(1, ...matching.map((h) => h.multiplier));
}

/** The calendar period (in the campaign's zone) a cap counts in. */
export function periodKey(period: CapPeriod, occurredAt: Date, timeZone: string): string {
  if (period === 'LIFETIME') return 'L';
  const { year, month, day, weekday } = localTime(occurredAt, timeZone);
  if (period === 'YEAR') return `Y:${year}`;
  if (period === 'MONTH') return `M:${year}-${month}`;
  if (period === 'DAY') return `D:${year}-${month}-${day}`;
  const monday = new Date(Date.UTC(Number(year), Number(month) - 1, Number(day) - (weekday - 1)));
  return `W:${monday.toISOString().slice(0, 10)}`;
}

const DAY_MS = 86_400_000;

/**
 * Until when a purchase's credit stays pending, or null: one activity is one credit, so it is held
 * for the longest `pendingDays` among the rules that awarded it, counted from when it happened.
 * Custom events are never held.
 */
export function pendingUntil(activity: Pick<ActivityFacts, 'type' | 'occurredAt'>, awardingRules: readonly Pick<RuleSpec, 'pendingDays'>[]): Date | null {
  if (activity.type !== 'PURCHASE') return null;
  const days = Math.max(0, ...awardingRules.map((rule) => rule.pendingDays ?? 0));
  return days > 0 ? new Date(activity.occurredAt.getTime() + days * DAY_MS) : null;
}

/** A rule's award before caps and budget; 0 when its trigger does not match. */
export function award(rule: RuleSpec, activity: ActivityFacts, member: MemberFacts, timeZone: string): number {
  if (!triggers[rule.trigger](rule, activity) || !meetsMinimum(rule, activity)) return 0;
  const base = calculations[rule.calculation](rule, activity);
  if (base <= 0) return 0;
  // The epsilon keeps exact products (246 × 1.5 = 369) from flooring to 368 on binary rounding.
  return Math.floor(base * member.earnMultiplier * happyHourMultiplier(rule, activity.occurredAt, timeZone) + 1e-9);
}

/** What stacking needs of a campaign. */
export interface Stackable {
  id: string;
  priority: number;
  exclusive: boolean;
  createdAt: Date;
}

/** The order campaigns apply in: higher priority first; equal priorities the older campaign first (then by id). */
export function stackingOrder<T extends Stackable>(campaigns: readonly T[]): T[] {
  return [...campaigns].sort(
    (a, b) => b.priority - a.priority || a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
  );
}

/**
 * The stacking decision for one activity, given what each campaign awarded it (after caps and
 * budgets): walking in stacking order, the first exclusive campaign that awards points stops every
 * campaign after it. Returns the ids of the campaigns it stopped that would have awarded points (a
 * campaign that awarded nothing stops nothing and is stopped by nothing).
 */
export function excludedByStacking(campaigns: readonly Stackable[], awarded: ReadonlyMap<string, number>): string[] {
  const ordered = stackingOrder(campaigns);
  const stopper = ordered.findIndex((c) => c.exclusive && (awarded.get(c.id) ?? 0) > 0);
  if (stopper < 0) return [];
  return ordered.slice(stopper + 1).filter((c) => (awarded.get(c.id) ?? 0) > 0).map((c) => c.id);
}
