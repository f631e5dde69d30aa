import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { TierInput } from './tier.inputs';
import { Tier } from './tier.type';

@Resolver(() => Tier)
export class TierResolver {
  @Authorized(access['Query.tiers'])
  @Query(() => [Tier], { description: "The tenant's tiers by rank" })
  tiers(@Ctx() { services, loaders }: MembersContext): Promise<Tier[]> {
    return services.tiers.list(loaders);
  }

  @Authorized(access['Mutation.upsertTier'])
  @Mutation(() => Tier, { description: "A tenant's tiers are keyed by rank" })
  upsertTier(@Arg('input', () => TierInput) input: TierInput, @Ctx() { identity, services }: MembersContext): Promise<Tier> {
    return services.tiers.upsert(identity, input);
  }
}
