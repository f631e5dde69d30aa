import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { decodeCursor, encodeCursor, pageSize, parseId } from '@loyalty/kit';
import { access } from '../access';
import type { RewardsContext } from '../context';
import { seesWholeCatalog, visibleTo } from './reward.availability';
import { RewardInput } from './reward.inputs';
import { Reward, RewardConnection, RewardFilter, toReward } from './reward.type';

@Resolver(() => Reward)
export class RewardResolver {
  @Authorized(access['Query.rewards'])
  @Query(() => RewardConnection, { description: 'the catalog' })
  async rewards(
    @Arg('filter', () => RewardFilter, { nullable: true }) filter: RewardFilter | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, services }: RewardsContext,
  ): Promise<RewardConnection> {
    const size = pageSize(first ?? 20);
    const cursor = decodeCursor(after, ['timestamp', 'uuid']) as [string, string] | undefined;
    // A member or a catalog key gets what `activeOnly: true` lists, whatever it asks for.
    const criteria = seesWholeCatalog(identity) ? (filter ?? {}) : { ...filter, activeOnly: true };
    const repository = services.rewardRepository;
    const { rows, hasNextPage } = await repository.list(identity.tenant, criteria, size, cursor);
    return RewardConnection.from({
      nodes: rows.map(toReward),
      hasNextPage,
      cursorOf: (reward) => encodeCursor([reward.createdAt.toISOString(), reward.id]),
      count: () => repository.count(identity.tenant, criteria),
    });
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
