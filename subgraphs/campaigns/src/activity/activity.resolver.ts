import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { CampaignsContext } from '../context';
import type { CampaignEntity } from '../campaign/campaign.entity';
import { toCampaign } from '../campaign/campaign.type';
import { stackingOrder } from '../rules/rules';
import { ActivityInput } from './activity.inputs';
import type { EarnOutcome, Preview } from './activity.service';
import { EarnResult } from './activity.type';

@Resolver(() => EarnResult)
export class ActivityResolver {
  @Authorized(access['Mutation.recordActivity'])
  @Mutation(() => EarnResult, { description: 'Records a purchase or custom event once per idempotency key and credits the points its campaigns award' })
  async recordActivity(@Arg('input', () => ActivityInput, { description: 'the activity; its idempotencyKey makes a retry return the first answer' }) input: ActivityInput, @Ctx() context: CampaignsContext): Promise<EarnResult> {
    return earnResult(await context.services.activities.record(context.identity, input), context);
  }

  @Authorized(access['Query.previewActivity'])
  @Query(() => EarnResult, { description: 'What recordActivity would award for this input now, writing nothing (no entry, budget, cap, key or event)' })
  async previewActivity(@Arg('input', () => ActivityInput, { description: 'the activity as recordActivity would take it' }) input: ActivityInput, @Ctx() context: CampaignsContext): Promise<EarnResult> {
    return earnResult(await context.services.activities.preview(context.identity, input), context);
  }
}

/** The answer of recordActivity and previewActivity: awards in stacking order, each with its campaign. */
async function earnResult(outcome: EarnOutcome | Preview, { loaders }: CampaignsContext): Promise<EarnResult> {
  // The campaigns were read to evaluate the activity; only a replay reads them again.
  const evaluated = new Map(outcome.awards.flatMap((a) => (a.campaign ? [[a.campaignId, a.campaign] as const] : [])));
  const ids = [...new Set([...outcome.awards.map((a) => a.campaignId), ...outcome.excluded])];
  const loaded = await Promise.all(ids.map(async (id) => evaluated.get(id) ?? loaders.campaign.load(id)));
  const entities = new Map<string, CampaignEntity>();
  for (const entity of loaded) if (entity) entities.set(entity.id, entity);
  const order = new Map(stackingOrder([...entities.values()]).map((c, i) => [c.id, i]));
  const awards = [...outcome.awards].sort((a, b) => (order.get(a.campaignId) ?? 0) - (order.get(b.campaignId) ?? 0));
  return {
    pointsEarned: outcome.pointsEarned,
    member: { id: outcome.memberId },
    transaction: 'transactionId' in outcome && outcome.transactionId ? { id: outcome.transactionId } : null,
    appliedRules: awards.map((a) => {
      const campaign = entities.get(a.campaignId)!;
      return { campaign: toCampaign(campaign), ruleId: a.ruleId, points: a.points, exclusive: campaign.exclusive };
    }),
    excludedCampaigns: stackingOrder(outcome.excluded.flatMap((id) => entities.get(id) ?? [])).map((c) => toCampaign(c)),
  };
}
