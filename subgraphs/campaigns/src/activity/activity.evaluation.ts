import { BadInputError, MAX_POINTS_PER_MOVE, type MemberSnapshot } from '@loyalty/kit';
import type { CampaignEntity } from '../campaign/campaign.entity';
import type { BudgetClaim } from '../campaign/campaign.repository';
import { rulesFor } from '../experiment/experiment.rule';
import { award, excludedByStacking, isEligible, periodKey, stackingOrder, type ActivityFacts, type MemberFacts } from '../rules/rules';
import type { CapClaim, CapMove, StoredAward } from './activity.repository';

export interface Award extends StoredAward {
  /** The campaign as the reservation left it (set when this request evaluated it, not on replays). */
  campaign?: CampaignEntity;
  /** The awarding rule's pendingDays (set with `campaign`). */
  pendingDays?: number;
}

/**
 * The counters an evaluation reserves on: the member's caps per rule and period, and the
 * campaigns' budgets. recordActivity reserves on the stored counters inside its transaction,
 * previewActivity reads them without changing anything, simulateCampaign keeps its own in memory:
 * the one evaluation below decides for all three.
 */
export interface Counters {
  /** Up to `points` of each of the member's caps: what each claim is granted (never past its cap), in order. */
  claimCaps(memberId: string, claims: readonly CapClaim[]): Promise<number[]>;
  /** Up to the points wanted of each campaign's budget, of campaigns still running at `at`: absent = nothing granted. */
  claimBudgets(wanted: ReadonlyMap<string, number>, at: Date): Promise<Map<string, BudgetClaim>>;
  /** Gives back what claims granted and the evaluation did not keep (points as positive numbers). */
  releaseCaps(memberId: string, releases: readonly CapMove[]): Promise<void>;
  releaseBudgets(released: ReadonlyMap<string, number>): Promise<void>;
}

export interface Evaluation {
  /** What the activity earns, campaign by campaign in stacking order. */
  awards: Award[];
  /** Campaigns that would have awarded points but an exclusive campaign before them stopped. */
  excluded: string[];
}

export const memberFacts = (member: MemberSnapshot): MemberFacts => ({
  country: member.country,
  tierRank: member.tier.rank,
  earnMultiplier: member.tier.earnMultiplier,
  attributes: member.attributes,
  segmentIds: member.segmentIds,
});

/** The one order every writer of the member's caps takes them in (so none deadlocks). */
export const byRuleId = (a: { ruleId: string }, b: { ruleId: string }) => (a.ruleId < b.ruleId ? -1 : a.ruleId > b.ruleId ? 1 : 0);

/**
 * Evaluates the rules of `campaigns` (read without a lock) and reserves what they award on
 * `counters`; an award past one ledger move's limit is blamed on `limitField`, the input that drove
 * it. Every counter is reserved by one short claim that clips to what it has left, so nothing ever
 * overshoots: first the member's caps (in rule id order), then every campaign's budget at once
 * (only while the campaign still runs: paused since the read, it awards nothing). A campaign's grant
 * goes to its rules in order; what a cap reserved beyond it is given back. Then stacking: in
 * priority order, an exclusive campaign that awarded points stops the ones after it, which give
 * back what they reserved (rows this evaluation already holds, so no new lock is taken). Caps
 * before campaigns, campaigns in id order: the order every writer of these counters takes them in,
 * so none deadlocks.
 */
export async function evaluate(counters: Counters, campaigns: readonly CampaignEntity[], member: MemberSnapshot, facts: ActivityFacts, limitField: string): Promise<Evaluation> {
  const memberFactsNow = memberFacts(member);
  const evaluated: (Award & { cap: number | null })[] = [];
  for (const campaign of campaigns) {
    if (!isEligible(campaign.eligibility, memberFactsNow)) continue;
    // An experiment's arm decides which of the campaign's rules (if any) this member earns by.
    for (const rule of rulesFor(campaign, member.id)) {
      const points = award(rule, facts, memberFactsNow, campaign.timeZone);
      if (points <= 0) continue;
      const capped = rule.maxPointsPerMember !== null && rule.capPeriod !== null;
      const key = capped ? periodKey(rule.capPeriod!, facts.occurredAt, campaign.timeZone) : null;
      evaluated.push({ campaignId: campaign.id, ruleId: rule.id, points, periodKey: key, campaign, pendingDays: rule.pendingDays ?? 0, cap: capped ? rule.maxPointsPerMember : null });
    }
  }
  // Caps are claimed in rule id order, the order giveBack takes them in too.
  const capped = evaluated.filter((a) => a.periodKey && a.cap !== null).sort(byRuleId);
  const grantedCaps = await counters.claimCaps(member.id, capped.map((a) => ({ ruleId: a.ruleId, periodKey: a.periodKey!, points: a.points, cap: a.cap! })));
  capped.forEach((a, i) => (a.points = grantedCaps[i]!));
  const wanted: Award[] = evaluated.filter((a) => a.points > 0).map(({ cap: _cap, ...a }) => a);
  const perCampaign = new Map<string, number>();
  for (const a of wanted) perCampaign.set(a.campaignId, (perCampaign.get(a.campaignId) ?? 0) + a.points);
  const claims = await counters.claimBudgets(perCampaign, facts.occurredAt);
  const left = new Map([...claims].map(([id, claim]) => [id, claim.granted]));
  const granted: Award[] = [];
  // What caps reserved beyond a campaign's grant, and what stopped campaigns reserved: given back at once.
  const capReleases: CapMove[] = [];
  for (const a of wanted) {
    const points = Math.min(a.points, left.get(a.campaignId) ?? 0);
    left.set(a.campaignId, (left.get(a.campaignId) ?? 0) - points);
    if (a.periodKey && points < a.points) capReleases.push({ ruleId: a.ruleId, periodKey: a.periodKey, points: a.points - points });
    if (points <= 0) continue;
    // As this reservation left it (the row stays locked until the activity is stored).
    a.campaign!.pointsIssued = claims.get(a.campaignId)!.pointsIssued;
    granted.push({ ...a, points });
  }

  const awardedPer = new Map<string, number>();
  for (const a of granted) awardedPer.set(a.campaignId, (awardedPer.get(a.campaignId) ?? 0) + a.points);
  const excluded = excludedByStacking(campaigns, awardedPer);
  const stopped = new Set(excluded);
  for (const a of granted) if (stopped.has(a.campaignId) && a.periodKey) capReleases.push({ ruleId: a.ruleId, periodKey: a.periodKey, points: a.points });
  await counters.releaseCaps(member.id, capReleases.sort(byRuleId));
  await counters.releaseBudgets(new Map(excluded.map((id) => [id, awardedPer.get(id)!])));

  const order = new Map(stackingOrder(campaigns).map((c, i) => [c.id, i]));
  const awards = granted.filter((a) => !stopped.has(a.campaignId)).sort((a, b) => order.get(a.campaignId)! - order.get(b.campaignId)!);
  awards.reduce((total, a) => withinMoveLimit(total, a.points, limitField), 0);
  return { awards, excluded };
}

/** One activity is one ledger move: an award the ledger would refuse is the input's fault, said before anything is kept. */
function withinMoveLimit(total: number, points: number, limitField: string): number {
  if (total + points > MAX_POINTS_PER_MOVE) {
    throw new BadInputError(limitField, `This activity would earn more than ${MAX_POINTS_PER_MOVE} points, the most one activity may earn`);
  }
  return total + points;
}
