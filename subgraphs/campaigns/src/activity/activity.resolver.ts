import { Arg, Authorized, Ctx, Mutation, Resolver } from 'type-graphql';
import { access } from '../access';
import type { CampaignsContext } from '../context';
import { toCampaign } from '../campaign/campaign.type';
import { ActivityInput } from './activity.inputs';
import { EarnResult } from './activity.type';

@Resolver(() => EarnResult)
export class ActivityResolver {
  @Authorized(access['Mutation.recordActivity'])
  @Mutation(() => EarnResult, { description: 'EARN' })
  async recordActivity(@Arg('input', () => ActivityInput) input: ActivityInput, @Ctx() { identity, services, loaders }: CampaignsContext): Promise<EarnResult> {
    const outcome = await services.activities.record(identity, input);
    // The campaigns were read (and locked) to evaluate the activity; only a replay reads them again.
    const campaigns = await Promise.all(outcome.awards.map(async (a) => a.campaign ?? loaders.campaign.load(a.campaignId)));
    return {
      pointsEarned: outcome.pointsEarned,
      member: { id: outcome.memberId },
      transaction: outcome.transactionId ? { id: outcome.transactionId } : null,
      appliedRules: outcome.awards.map((a, i) => ({ campaign: toCampaign(campaigns[i]!), ruleId: a.ruleId, points: a.points })),
    };
  }
}
