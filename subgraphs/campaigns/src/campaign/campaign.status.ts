/**
 * ENDED is derived from `endsAt`, never stored: a campaign past its end date is ENDED whatever its
 * stored status. This module is that rule's one home, in TypeScript (the mapper) and in SQL (the
 * list filters, the running campaigns, the campaigns an activity may earn in), side by side.
 * `alias` is the campaigns table's alias in the query.
 */
export const hasEnded = (endsAt: Date | null, now = new Date()): boolean => endsAt !== null && endsAt <= now;

const notEndedAtSql = (alias: string, at: string): string => `(${alias}.ends_at IS NULL OR ${alias}.ends_at > ${at})`;

export const endedSql = (alias: string): string => `${alias}.ends_at <= now()`;

export const notEndedSql = (alias: string): string => notEndedAtSql(alias, 'now()');

/**
 * ACTIVE, started by `at` and not ended by `at` (an SQL expression, `now()` by default), nor now:
 * an activity that happened before the end still earns nothing once the campaign has ended.
 */
export const runningSql = (alias: string, at = 'now()'): string =>
  `${alias}.status = 'ACTIVE' AND (${alias}.starts_at IS NULL OR ${alias}.starts_at <= ${at}) AND ${notEndedSql(alias)}` +
  (at === 'now()' ? '' : ` AND ${notEndedAtSql(alias, at)}`);
