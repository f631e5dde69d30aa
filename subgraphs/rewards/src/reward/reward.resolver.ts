import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { parseId } from '@loyalty/kit';
import { access } from '../access';
import type { RewardsContext } from '../context';
import { visibleTo } from './reward.availability';
import { RewardInput } from './reward.inputs';
import { Reward, RewardConnection, RewardFilter, toReward } from './reward.type';

@Resolver(() => Reward)
export class RewardResolver {
  @Authorized(access['Query.rewards'])
  @Query(() => RewardConnection, { description: 'the catalog' })
  rewards(
    @Arg('filter', () => RewardFilter, { nullable: true }) filter: RewardFilter | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, services }: RewardsContext,
  ): Promise<RewardConnection> {
    return services.rewards.list(identity, filter, first ?? 20, after);
  }

  @Authorized(access['Query.reward'])
  @Query(() => Reward, { nullable: true })
  async reward(@Arg('id', () => ID) id: string, @Ctx() { identity, loaders }: RewardsContext): Promise<Reward | null> {
    const entity = visibleTo(identity, await loaders.reward.load(parseId(id, 'id')));
    return entity ? toReward(entity) : null;
  }

  @Authorized(access['Mutation.createReward'])
  @Mutation(() => Reward)
  createReward(@Arg('input', () => RewardInput) input: RewardInput, @Ctx() { identity, services }: RewardsContext): Promise<Reward> {
    return services.rewards.create(identity, input);
  }

  @Authorized(access['Mutation.updateReward'])
  @Mutation(() => Reward, { description: 'replaces every field of the reward' })
  updateReward(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => RewardInput) input: RewardInput,
    @Ctx() { identity, services }: RewardsContext,
  ): Promise<Reward> {
    return services.rewards.update(identity, id, input);
  }

  @Authorized(access['Mutation.addRewardCodes'])
  @Mutation(() => Reward, { description: 'imports unique codes (coupons, gift cards) into the reward\'s code pool, all or none; its redemptions then hand them out in import order' })
  addRewardCodes(
    @Arg('rewardId', () => ID) rewardId: string,
    @Arg('codes', () => [String]) codes: string[],
    @Ctx() { identity, services }: RewardsContext,
  ): Promise<Reward> {
    return services.rewards.addCodes(identity, rewardId, codes);
  }

  @Authorized(access['Reward.codesAvailable'])
  @FieldResolver(() => Int, { nullable: true, description: 'codes of the pool not yet handed out; null: the reward has no code pool (admin, marketer)' })
  codesAvailable(@Root() reward: Reward, @Ctx() { loaders }: RewardsContext): Promise<number | null> {
    return loaders.codesAvailable.load(reward.id);
  }
}
