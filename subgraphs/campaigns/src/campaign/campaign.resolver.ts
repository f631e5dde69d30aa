import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { decodeCursor, encodeCursor, pageSize, parseId } from '@loyalty/kit';
import type { CampaignsContext } from '../context';
import { Campaign, CampaignConnection, CampaignStatus, toCampaign } from './campaign.type';

const READ_CAMPAIGNS = ['admin', 'marketer', 'agent', 'integration'] as const;

@Authorized([...READ_CAMPAIGNS])
@Resolver(() => Campaign)
export class CampaignResolver {
  @Query(() => CampaignConnection)
  async campaigns(
    @Arg('status', () => CampaignStatus, { nullable: true }) status: CampaignStatus | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, repository }: CampaignsContext,
  ): Promise<CampaignConnection> {
    const size = pageSize(first ?? 20);
    const cursor = decodeCursor(after, ['string', 'string']) as [string, string] | undefined;
    const { rows, hasNextPage } = await repository.list(identity.tenant, status, size, cursor);
    return CampaignConnection.from({
      nodes: rows.map((row) => toCampaign(row)),
      hasNextPage,
      cursorOf: (campaign) => encodeCursor([campaign.createdAt.toISOString(), campaign.id]),
      count: () => repository.count(identity.tenant, status),
    });
  }

  @Query(() => Campaign, { nullable: true })
  async campaign(@Arg('id', () => ID) id: string, @Ctx() { loaders }: CampaignsContext): Promise<Campaign | null> {
    const entity = await loaders.campaign.load(parseId(id, 'id'));
    return entity ? toCampaign(entity) : null;
  }
}
