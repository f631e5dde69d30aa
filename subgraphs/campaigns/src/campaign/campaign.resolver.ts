import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { DateRangeInput, hasRole, parseId } from '@loyalty/kit';
import { access } from '../access';
import type { CampaignsContext } from '../context';
import { CampaignInput } from './campaign.inputs';
import { Campaign, CampaignBudget, CampaignConnection, CampaignSimulation, CampaignStatus, Eligibility, Experiment, toCampaign } from './campaign.type';

@Resolver(() => Campaign)
export class CampaignResolver {
  @Authorized(access['Query.campaigns'])
  @Query(() => CampaignConnection)
  campaigns(
    @Arg('status', () => CampaignStatus, { nullable: true }) status: CampaignStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, services }: CampaignsContext,
  ): Promise<CampaignConnection> {
    return services.campaigns.list(identity, status, first ?? 20, after);
  }

  @Authorized(access['Query.campaign'])
  @Query(() => Campaign, { nullable: true })
  async campaign(@Arg('id', () => ID) id: string, @Ctx() { loaders }: CampaignsContext): Promise<Campaign | null> {
    const entity = await loaders.campaign.load(parseId(id, 'id'));
    return entity ? toCampaign(entity) : null;
  }

  @Authorized(access['Query.simulateCampaign'])
  @Query(() => CampaignSimulation, { description: "Replays the tenant's recorded activities in the range against a draft definition; writes nothing" })
  simulateCampaign(
    @Arg('input', () => CampaignInput, { description: 'the draft, as createCampaign would take it' }) input: CampaignInput,
    @Arg('range', () => DateRangeInput, { description: 'the activities to replay (default: the 90 days before to; at most 400 days)' }) range: DateRangeInput,
    @Ctx() { identity, services }: CampaignsContext,
  ): Promise<CampaignSimulation> {
    return services.simulator.simulate(identity, input, range);
  }

  // A member sees the campaigns it can earn in (Member.eligibleCampaigns), not how they are run.
  @FieldResolver(() => CampaignBudget, { nullable: true })
  budget(@Root() campaign: Campaign, @Ctx() { identity }: CampaignsContext): CampaignBudget | null {
    return hasRole(identity, access['Campaign.budget']) ? campaign.budget : null;
  }

  @FieldResolver(() => Eligibility, { nullable: true })
  eligibility(@Root() campaign: Campaign, @Ctx() { identity }: CampaignsContext): Eligibility | null {
    return hasRole(identity, access['Campaign.eligibility']) ? campaign.eligibility : null;
  }

  @FieldResolver(() => Experiment, { nullable: true })
  experiment(@Root() campaign: Campaign, @Ctx() { identity }: CampaignsContext): Experiment | null {
    return hasRole(identity, access['Campaign.experiment']) ? campaign.experiment : null;
  }

  @Authorized(access['Mutation.createCampaign'])
  @Mutation(() => Campaign, { description: 'created as DRAFT' })
  createCampaign(@Arg('input', () => CampaignInput) input: CampaignInput, @Ctx() { identity, services }: CampaignsContext): Promise<Campaign> {
    return services.campaigns.create(identity, input);
  }

  @Authorized(access['Mutation.updateCampaign'])
  @Mutation(() => Campaign, { description: 'replaces the definition; rules get new ids and per-member caps start afresh' })
  updateCampaign(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => CampaignInput) input: CampaignInput,
    @Ctx() { identity, services }: CampaignsContext,
  ): Promise<Campaign> {
    return services.campaigns.update(identity, id, input);
  }

  @Authorized(access['Mutation.activateCampaign'])
  @Mutation(() => Campaign)
  activateCampaign(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: CampaignsContext): Promise<Campaign> {
    return services.campaigns.activate(identity, id);
  }

  @Authorized(access['Mutation.promoteVariant'])
  @Mutation(() => Campaign, { description: "ends the campaign's experiment: the variant's rules become the campaign's rules for every member from now on" })
  promoteVariant(
    @Arg('campaignId', () => ID, { description: 'the campaign whose experiment ends' }) campaignId: string,
    @Arg('key', { description: 'the winning variant (BASE for an experiment without variants)' }) key: string,
    @Ctx() { identity, services }: CampaignsContext,
  ): Promise<Campaign> {
    return services.campaigns.promote(identity, campaignId, key);
  }

  @Authorized(access['Mutation.pauseCampaign'])
  @Mutation(() => Campaign, { description: 'the kill switch: takes effect at once' })
  pauseCampaign(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: CampaignsContext): Promise<Campaign> {
    return services.campaigns.pause(identity, id);
  }
}
