import { BadInputError, LedgerUnavailableError, ServiceUnavailableError, type DateRangeInput, type Identity, type LedgerClient, type MemberSnapshot } from '@loyalty/kit';
import { evaluate, type Counters } from '../activity/activity.evaluation';
import type { ActivityRepository, HistoricActivity } from '../activity/activity.repository';
import { hasEnded } from './campaign.status';
import type { CampaignEntity } from './campaign.entity';
import type { CampaignInput } from './campaign.inputs';
import { toColumns } from './campaign.service';
import type { CampaignSimulation } from './campaign.type';
import type { ActivityFacts, Trigger } from '../rules/rules';

const DAY_MS = 86_400_000;
/** The longest range one simulation replays. */
export const MAX_SIMULATION_DAYS = 400;
const PAGE = 10_000;
/** The most member ids members answers in one snapshot call (ledger-api.ts, snapshotsBody). */
const SNAPSHOT_BATCH = 500;
const SNAPSHOT_CALLS_AT_ONCE = 4;

/**
 * A draft campaign's counters, in memory: its budget and each member's caps start empty and fill
 * as the replay goes, exactly as the stored ones would have.
 */
export function draftCounters(campaignId: string, maxPoints: number | null): Counters {
  const caps = new Map<string, number>();
  const capKey = (ruleId: string, memberId: string, periodKey: string) => `${ruleId}|${memberId}|${periodKey}`;
  let issued = 0;
  return {
    claimCaps: async (memberId, claims) =>
      claims.map(({ ruleId, periodKey, points, cap }) => {
        const key = capKey(ruleId, memberId, periodKey);
        const used = caps.get(key) ?? 0;
        const granted = Math.max(0, Math.min(points, cap - used));
        caps.set(key, used + granted);
        return granted;
      }),
    claimBudgets: async (wanted) => {
      const points = wanted.get(campaignId);
      const granted = points === undefined ? 0 : maxPoints === null ? points : Math.max(0, Math.min(points, maxPoints - issued));
      issued += granted;
      return granted > 0 ? new Map([[campaignId, { granted, pointsIssued: issued }]]) : new Map();
    },
    releaseCaps: async (memberId, releases) => {
      for (const { ruleId, periodKey, points } of releases) {
        const key = capKey(ruleId, memberId, periodKey);
        caps.set(key, (caps.get(key) ?? 0) - points);
      }
    },
    releaseBudgets: async (released) => {
      issued -= released.get(campaignId) ?? 0;
    },
  };
}

/**
 * simulateCampaign: replays the tenant's recorded activities in a range, in the order they
 * happened, against a draft definition, through the very evaluation recordActivity runs (rules,
 * eligibility, caps, budget), with the members' tiers, countries and attributes as they are now.
 * The draft runs alone (as if no other campaign ran, so stacking does not apply), from its own
 * startsAt to endsAt within the range, and only for members that are ACTIVE now. A draft with an
 * experiment splits members into its arms in the same shares (by the draft's own id, so not the
 * very members the created campaign will put in each arm). Nothing is written.
 */
export class CampaignSimulator {
  constructor(
    private readonly activities: ActivityRepository,
    private readonly ledger: LedgerClient,
  ) {}

  async simulate(identity: Identity, input: CampaignInput, range: DateRangeInput): Promise<CampaignSimulation> {
    const columns = toColumns(input);
    const to = range.to ?? new Date();
    const from = range.from ?? new Date(to.getTime() - 90 * DAY_MS);
    if (from > to) throw new BadInputError('range.from', 'from must not be after to');
    if (to.getTime() - from.getTime() > MAX_SIMULATION_DAYS * DAY_MS) throw new BadInputError('range', `a simulation replays at most ${MAX_SIMULATION_DAYS} days`);
    const draft: CampaignEntity = {
      ...(columns as Omit<CampaignEntity, 'id' | 'tenant' | 'status' | 'createdAt' | 'updatedAt' | 'pointsIssued'>),
      id: '00000000-0000-4000-8000-000000000000',
      tenant: identity.tenant,
      status: 'ACTIVE',
      createdAt: new Date(),
      updatedAt: new Date(),
      pointsIssued: 0,
    };
    const start = draft.startsAt && draft.startsAt > from ? draft.startsAt : from;
    const end = draft.endsAt && draft.endsAt < to ? draft.endsAt : to;
    const result: CampaignSimulation = { pointsIssued: 0, members: 0, activities: 0, budgetExhaustedAt: null };
    const types = [...new Set([...draft.rules, ...(draft.experiment?.variants.flatMap((v) => v.rules) ?? [])].map((rule) => rule.trigger))];
    if (types.length === 0 || start > end) return result;

    const counters = draftCounters(draft.id, draft.maxPoints);
    const reached = new Set<string>();
    const members = new Map<string, MemberSnapshot | null>();
    let after: { at: Date; id: string } | undefined;
    for (;;) {
      const page = await this.activities.history(identity.tenant, types, start, end, PAGE, after);
      if (page.length === 0) break;
      await this.load(identity.tenant, page, members);
      for (const activity of page) {
        const member = members.get(activity.memberId);
        // An activity at the draft's very end does not count: a campaign has ended at endsAt.
        if (!member || member.status !== 'ACTIVE' || hasEnded(draft.endsAt, activity.occurredAt)) continue;
        const points = await this.award(counters, draft, member, activity);
        if (points <= 0) continue;
        result.pointsIssued += points;
        result.activities += 1;
        reached.add(activity.memberId);
        if (draft.maxPoints !== null && draft.pointsIssued >= draft.maxPoints && !result.budgetExhaustedAt) result.budgetExhaustedAt = activity.occurredAt;
      }
      const last = page[page.length - 1]!;
      after = { at: last.occurredAt, id: last.id };
      if (page.length < PAGE || result.budgetExhaustedAt) break;
    }
    result.members = reached.size;
    return result;
  }

  /** What the draft awards one activity; one recordActivity would refuse (past one move's limit) earns nothing. */
  private async award(counters: Counters, draft: CampaignEntity, member: MemberSnapshot, activity: HistoricActivity): Promise<number> {
    const facts: ActivityFacts = { type: activity.type as Trigger, amount: activity.amount, eventName: activity.eventName, occurredAt: activity.occurredAt };
    try {
      const { awards } = await evaluate(counters, [draft], member, facts, 'amount');
      return awards.reduce((sum, a) => sum + a.points, 0);
    } catch (error) {
      if (error instanceof BadInputError) return 0;
      throw error;
    }
  }

  /** Reads the snapshots of the page's members not read yet (a few batches at a time). */
  private async load(tenant: string, page: readonly HistoricActivity[], members: Map<string, MemberSnapshot | null>): Promise<void> {
    const missing = [...new Set(page.map((a) => a.memberId))].filter((id) => !members.has(id));
    const batches: string[][] = [];
    for (let i = 0; i < missing.length; i += SNAPSHOT_BATCH) batches.push(missing.slice(i, i + SNAPSHOT_BATCH));
    for (let i = 0; i < batches.length; i += SNAPSHOT_CALLS_AT_ONCE) {
      await Promise.all(
        batches.slice(i, i + SNAPSHOT_CALLS_AT_ONCE).map(async (ids) => {
          const snapshots = await this.ledger.members(tenant, ids).catch((error: unknown) => {
            if (error instanceof LedgerUnavailableError) throw new ServiceUnavailableError('The members cannot be read right now; nothing was simulated: retry');
            throw error;
          });
          for (const id of ids) members.set(id, null);
          for (const snapshot of snapshots) members.set(snapshot.id, snapshot);
        }),
      );
    }
  }
}
