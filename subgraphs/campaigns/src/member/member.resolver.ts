import { Arg, Ctx, FieldResolver, ID, Resolver, Root } from 'type-graphql';
import { NotFoundError, parseId, requireMemberAccess } from '@loyalty/kit';
import { armFor } from '../experiment/experiment.rule';
import type { CampaignsContext } from '../context';
import { access } from '../access';
import { Campaign, toCampaign } from '../campaign/campaign.type';
import { memberFacts } from '../activity/activity.evaluation';
import { isEligible } from '../rules/rules';
import { Member } from './member.type';

@Resolver(() => Member)
export class MemberCampaignsResolver {
  @FieldResolver(() => [Campaign], { description: 'campaigns running now whose eligibility the member meets' })
  async eligibleCampaigns(@Root() member: Member, @Ctx() { identity, loaders }: CampaignsContext): Promise<Campaign[]> {
    requireMemberAccess(identity, member.id, access['Member.eligibleCampaigns']);
    const [snapshot, running] = await Promise.all([loaders.member.load(member.id), loaders.running.load('now')]);
    if (!snapshot || snapshot.status !== 'ACTIVE') return [];
    const facts = memberFacts(snapshot);
    return running.filter((campaign) => isEligible(campaign.eligibility, facts)).map((campaign) => toCampaign(campaign));
  }

  @FieldResolver(() => String, { nullable: true, description: "the member's arm in the campaign's experiment (HOLDOUT, BASE or a variant key); null when the campaign runs no experiment" })
  async experimentArm(
    @Root() member: Member,
    @Arg('campaignId', () => ID, { description: 'a campaign of the tenant' }) campaignId: string,
    @Ctx() { identity, loaders }: CampaignsContext,
  ): Promise<string | null> {
    requireMemberAccess(identity, member.id, access['Member.experimentArm']);
    const campaign = await loaders.campaign.load(parseId(campaignId, 'campaignId'));
    if (!campaign) throw new NotFoundError('Campaign', 'campaignId');
    return armFor(campaign, member.id);
  }
}
