import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema, hasRole } from '@loyalty/kit';
import type { RewardsContext } from './context';
import { READ_CATALOG, RewardResolver } from './reward/reward.resolver';
import { toReward } from './reward/reward.type';

export function buildRewardsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [RewardResolver],
    references: {
      Reward: {
        __resolveReference: async (ref: { id: string }, { identity, loaders }: RewardsContext) => {
          if (!hasRole(identity, READ_CATALOG)) return null;
          const entity = await loaders.reward.load(ref.id);
          return entity ? toReward(entity) : null;
        },
      },
    },
  });
}
