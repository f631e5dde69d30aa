import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema, hasRole } from '@loyalty/kit';
import { CampaignResolver } from './campaign/campaign.resolver';
import { toCampaign } from './campaign/campaign.type';
import type { CampaignsContext } from './context';

export function buildCampaignsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [CampaignResolver],
    references: {
      Campaign: {
        __resolveReference: async (ref: { id: string }, { identity, loaders }: CampaignsContext) => {
          if (!hasRole(identity, ['admin', 'marketer', 'agent', 'integration'])) return null;
          const entity = await loaders.campaign.load(ref.id);
          return entity ? toCampaign(entity) : null;
        },
      },
    },
  });
}
