import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { parseId, requireMemberAccess } from '@loyalty/kit';
import type { RewardsContext } from '../context';
import { Member } from '../member/member.type';
import { READ_CATALOG } from '../reward/reward.resolver';
import { Reward, toReward } from '../reward/reward.type';
import { RedeemRewardInput } from './redemption.inputs';
import { CANCEL_ROLES, READ_REDEMPTIONS, REDEEM_ROLES } from './redemption.service';
import { Redemption, toRedemption } from './redemption.type';

@Resolver(() => Redemption)
export class RedemptionResolver {
  @Query(() => Redemption, { nullable: true })
  async redemption(@Arg('id', () => ID) id: string, @Ctx() { identity, loaders }: RewardsContext): Promise<Redemption | null> {
    const entity = await loaders.redemption.load(parseId(id, 'id'));
    if (!entity) return null;
    requireMemberAccess(identity, entity.memberId, READ_REDEMPTIONS);
    return toRedemption(entity);
  }

  /** The member itself, or integration/agent/admin on its behalf. */
  @Authorized([...REDEEM_ROLES, 'member'])
  @Mutation(() => Redemption, { description: 'REDEEM' })
  redeemReward(@Arg('input', () => RedeemRewardInput) input: RedeemRewardInput, @Ctx() { identity, services }: RewardsContext): Promise<Redemption> {
    return services.redemptions.redeem(identity, input);
  }

  @Authorized(CANCEL_ROLES)
  @Mutation(() => Redemption, { description: 'refunds the points, restocks' })
  cancelRedemption(
    @Arg('id', () => ID) id: string,
    @Arg('reason', () => String, { nullable: true }) reason: string | null,
    @Ctx() { identity, services }: RewardsContext,
  ): Promise<Redemption> {
    return services.redemptions.cancel(identity, id, reason);
  }

  @FieldResolver(() => Member)
  member(@Root() redemption: Redemption): Member {
    return { id: redemption.memberId };
  }

  @FieldResolver(() => Reward)
  async reward(@Root() redemption: Redemption, @Ctx() { identity, loaders }: RewardsContext): Promise<Reward> {
    requireMemberAccess(identity, redemption.memberId, [...READ_CATALOG]);
    return toReward((await loaders.reward.load(redemption.rewardId))!);
  }
}
