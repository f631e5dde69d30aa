import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema, hasRole, requireMemberAccess } from '@loyalty/kit';
import { access } from './access';
import type { RewardsContext } from './context';
import { MemberRewardsResolver } from './member/member.resolver';
// Before RedemptionResolver: type-graphql prints operations (and the committed SDL) in the order resolvers are defined.
import { RewardResolver } from './reward/reward.resolver';
import { RedemptionResolver } from './redemption/redemption.resolver';
import { toRedemption } from './redemption/redemption.type';
import { visibleTo } from './reward/reward.availability';
import { toReward } from './reward/reward.type';

export function buildRewardsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [RewardResolver, RedemptionResolver, MemberRewardsResolver],
    references: {
      Reward: {
        __resolveReference: async (ref: { id: string }, { identity, loaders }: RewardsContext) => {
          if (!hasRole(identity, access['_entities.Reward'])) return null;
          const entity = visibleTo(identity, await loaders.reward.load(ref.id));
          return entity ? toReward(entity) : null;
        },
      },
      Redemption: {
        __resolveReference: async (ref: { id: string }, { identity, loaders }: RewardsContext) => {
          const entity = await loaders.redemption.load(ref.id);
          if (!entity) return null;
          requireMemberAccess(identity, entity.memberId, access['_entities.Redemption']);
          return toRedemption(entity);
        },
      },
      Member: {
        __resolveReference: (ref: { id: string }) => ({ id: ref.id }),
      },
    },
  });
}
