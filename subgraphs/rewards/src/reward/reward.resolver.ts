import { Arg, Authorized, Ctx, ID, Int, Query, Resolver } from 'type-graphql';
import { decodeCursor, encodeCursor, pageSize, parseId } from '@loyalty/kit';
import type { RewardsContext } from '../context';
import { Reward, RewardConnection, RewardFilter, toReward } from './reward.type';

/** The catalog is readable by every role of the tenant and by partner keys (scope catalog:read). */
export const READ_CATALOG = ['admin', 'marketer', 'agent', 'integration', 'member', 'partner'] as const;

@Authorized([...READ_CATALOG])
@Resolver(() => Reward)
export class RewardResolver {
  @Query(() => RewardConnection, { description: 'the catalog' })
  async rewards(
    @Arg('filter', () => RewardFilter, { nullable: true }) filter: RewardFilter | null,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, repository }: RewardsContext,
  ): Promise<RewardConnection> {
    const size = pageSize(first ?? 20);
    const cursor = decodeCursor(after, ['string', 'string']) as [string, string] | undefined;
    const criteria = filter ?? {};
    const { rows, hasNextPage } = await repository.list(identity.tenant, criteria, size, cursor);
    return RewardConnection.from({
      nodes: rows.map(toReward),
      hasNextPage,
      cursorOf: (reward) => encodeCursor([reward.createdAt.toISOString(), reward.id]),
      count: () => repository.count(identity.tenant, criteria),
    });
  }

  @Query(() => Reward, { nullable: true })
  async reward(@Arg('id', () => ID) id: string, @Ctx() { loaders }: RewardsContext): Promise<Reward | null> {
    const entity = await loaders.reward.load(parseId(id, 'id'));
    return entity ? toReward(entity) : null;
  }
}
