import { BadInputError } from '@loyalty/kit';
import type { DayRange, StatsRepository } from './stats.repository';
import type { DateRangeInput, Interval, ProgramStats, RewardStat, StoreStat, TimelinePoint } from './stats.type';

const DAY_MS = 86_400_000;
const MAX_DAYS = 3660;
const DEFAULT_TIMELINE_DAYS = 30;

/** A range as UTC days (inclusive); either end may be open. `from` after `to` is the caller's mistake. */
export function days(range: DateRangeInput | null | undefined): DayRange {
  if (range?.from && range.to && range.from > range.to) throw new BadInputError('range.from', 'from must not be after to');
  return { from: range?.from?.toISOString().slice(0, 10) ?? null, to: range?.to?.toISOString().slice(0, 10) ?? null };
}

/** The rules of the reports (which ranges and limits are valid); the numbers come from the repository. */
export class StatsService {
  constructor(private readonly repository: StatsRepository) {}

  program(tenant: string, range: DateRangeInput | null): Promise<ProgramStats> {
    return this.repository.program(tenant, days(range));
  }

  topRewards(tenant: string, range: DateRangeInput | null, limit: number | null): Promise<RewardStat[]> {
    const n = limit ?? 10;
    if (n < 1 || n > 100) throw new BadInputError('limit', 'limit must be between 1 and 100');
    return this.repository.topRewards(tenant, days(range), n);
  }

  redemptionsByStore(tenant: string, range: DateRangeInput | null): Promise<StoreStat[]> {
    return this.repository.redemptionsByStore(tenant, days(range));
  }

  /** Without `to` the timeline ends today; without `from` it starts 30 days before its end. */
  timeline(tenant: string, range: DateRangeInput, interval: Interval): Promise<TimelinePoint[]> {
    const to = range.to ?? new Date();
    const from = range.from ?? new Date(to.getTime() - DEFAULT_TIMELINE_DAYS * DAY_MS);
    days({ from, to });
    if ((to.getTime() - from.getTime()) / DAY_MS > MAX_DAYS) throw new BadInputError('range', `a timeline spans at most ${MAX_DAYS} days`);
    return this.repository.timeline(tenant, from.toISOString().slice(0, 10), to.toISOString().slice(0, 10), interval);
  }
}
