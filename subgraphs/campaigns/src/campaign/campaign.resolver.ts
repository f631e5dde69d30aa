import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { decodeCursor, encodeCursor, hasRole, pageSize, parseId, type Role } from '@loyalty/kit';
import type { CampaignsContext } from '../context';
import { CampaignInput } from './campaign.inputs';
import { Campaign, CampaignBudget, CampaignConnection, CampaignStatus, Eligibility, toCampaign } from './campaign.type';

export const READ_CAMPAIGNS: Role[] = ['admin', 'marketer', 'agent', 'integration'];
const MANAGE_CAMPAIGNS: Role[] = ['admin', 'marketer'];

@Resolver(() => Campaign)
export class CampaignResolver {
  @Authorized(READ_CAMPAIGNS)
  @Query(() => CampaignConnection)
  async campaigns(
    @Arg('status', () => CampaignStatus, { nullable: true }) status: CampaignStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, services }: CampaignsContext,
  ): Promise<CampaignConnection> {
    const size = pageSize(first ?? 20);
    const cursor = decodeCursor(after, ['timestamp', 'uuid']) as [string, string] | undefined;
    const { rows, hasNextPage } = await services.repository.list(identity.tenant, status, size, cursor);
    return CampaignConnection.from({
      nodes: rows.map((row) => toCampaign(row)),
      hasNextPage,
      cursorOf: (campaign) => encodeCursor([campaign.createdAt.toISOString(), campaign.id]),
      count: () => services.repository.count(identity.tenant, status),
    });
  }

  @Authorized(READ_CAMPAIGNS)
  @Query(() => Campaign, { nullable: true })
  async campaign(@Arg('id', () => ID) id: string, @Ctx() { loaders }: CampaignsContext): Promise<Campaign | null> {
    const entity = await loaders.campaign.load(parseId(id, 'id'));
    return entity ? toCampaign(entity) : null;
  }

  // A member sees the campaigns it can earn in (Member.eligibleCampaigns), not how they are run.
  @FieldResolver(() => CampaignBudget, { nullable: true })
  budget(@Root() campaign: Campaign, @Ctx() { identity }: CampaignsContext): CampaignBudget | null {
    return hasRole(identity, READ_CAMPAIGNS) ? campaign.budget : null;
  }

  @FieldResolver(() => Eligibility, { nullable: true })
  eligibility(@Root() campaign: Campaign, @Ctx() { identity }: CampaignsContext): Eligibility | null {
    return hasRole(identity, READ_CAMPAIGNS) ? campaign.eligibility : null;
  }

  @Authorized(MANAGE_CAMPAIGNS)
  @Mutation(() => Campaign, { description: 'created as DRAFT' })
  createCampaign(@Arg('input', () => CampaignInput) input: CampaignInput, @Ctx() { identity, services }: CampaignsContext): Promise<Campaign> {
    return services.campaigns.create(identity, input);
  }

  @Authorized(MANAGE_CAMPAIGNS)
  @Mutation(() => Campaign, { description: 'replaces the definition; rules get new ids and per-member caps start afresh' })
  updateCampaign(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => CampaignInput) input: CampaignInput,
    @Ctx() { identity, services }: CampaignsContext,
  ): Promise<Campaign> {
    return services.campaigns.update(identity, id, input);
  }

  @Authorized(MANAGE_CAMPAIGNS)
  @Mutation(() => Campaign)
  activateCampaign(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: CampaignsContext): Promise<Campaign> {
    return services.campaigns.activate(identity, id);
  }

  @Authorized(MANAGE_CAMPAIGNS)
  @Mutation(() => Campaign, { description: 'the kill switch: takes effect at once' })
  pauseCampaign(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: CampaignsContext): Promise<Campaign> {
    return services.campaigns.pause(identity, id);
  }
}
