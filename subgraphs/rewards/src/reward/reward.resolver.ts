import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
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
}
