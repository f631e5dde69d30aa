import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema, hasRole } from '@loyalty/kit';
import { access } from './access';
import { ActivityResolver } from './activity/activity.resolver';
import { CampaignResolver } from './campaign/campaign.resolver';
import { toCampaign } from './campaign/campaign.type';
import type { CampaignsContext } from './context';
import { MemberCampaignsResolver } from './member/member.resolver';
import { ReturnResolver } from './return/return.resolver';

export function buildCampaignsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [CampaignResolver, ActivityResolver, ReturnResolver, MemberCampaignsResolver],
    references: {
      Campaign: {
        __resolveReference: async (ref: { id: string }, { identity, loaders }: CampaignsContext) => {
          if (!hasRole(identity, access['_entities.Campaign'])) return null;
          const entity = await loaders.campaign.load(ref.id);
          return entity ? toCampaign(entity) : null;
        },
      },
      Member: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      },
    },
  });
}
