import { Ctx, FieldResolver, Resolver, Root } from 'type-graphql';
import { requireMemberAccess } from '@loyalty/kit';
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
}
