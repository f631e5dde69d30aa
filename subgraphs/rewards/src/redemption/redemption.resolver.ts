import { Arg, Authorized, Ctx, FieldResolver, ID, Mutation, Query, Resolver, Root } from 'type-graphql';
import { gate, parseId, requireMemberAccess } from '@loyalty/kit';
import { access } from '../access';
import type { RewardsContext } from '../context';
import { Member } from '../member/member.type';
import { Reward, toReward } from '../reward/reward.type';
import { RedeemRewardInput } from './redemption.inputs';
import { Redemption, toRedemption } from './redemption.type';

@Resolver(() => Redemption)
export class RedemptionResolver {
  @Query(() => Redemption, { nullable: true })
  async redemption(@Arg('id', () => ID) id: string, @Ctx() { identity, loaders }: RewardsContext): Promise<Redemption | null> {
    const entity = await loaders.redemption.load(parseId(id, 'id'));
    if (!entity) return null;
    requireMemberAccess(identity, entity.memberId, access['Query.redemption']);
    return toRedemption(entity);
  }

  @Authorized(access['Query.redemptionByCode'])
  @Query(() => Redemption, { nullable: true, description: 'The redemption a code belongs to, for a till; null for an unknown code (unknown codes are rate-limited per caller)' })
  redemptionByCode(@Arg('code', () => String, { description: 'as printed, any case, dashes optional' }) code: string, @Ctx() { identity, services }: RewardsContext): Promise<Redemption | null> {
    return services.redemptions.byCode(identity, code);
  }

  @Authorized(access['Mutation.fulfilRedemption'])
  @Mutation(() => Redemption, { description: 'A till takes a code: once (CONFLICT after), NOT_FOUND for an unknown code, REWARD_UNAVAILABLE past codeExpiresAt' })
  fulfilRedemption(
    @Arg('code', () => String) code: string,
    @Arg('storeId', () => String, { nullable: true, description: 'the store taking the code' }) storeId: string | null,
    @Ctx() { identity, services }: RewardsContext,
  ): Promise<Redemption> {
    return services.redemptions.fulfil(identity, code, storeId);
  }

  /** The member itself, or integration/agent/admin on its behalf. */
  @Authorized(gate(access['Mutation.redeemReward']))
  @Mutation(() => Redemption, { description: 'REDEEM' })
  redeemReward(@Arg('input', () => RedeemRewardInput) input: RedeemRewardInput, @Ctx() { identity, services }: RewardsContext): Promise<Redemption> {
    return services.redemptions.redeem(identity, input);
  }

  @Authorized(access['Mutation.cancelRedemption'])
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
    requireMemberAccess(identity, redemption.memberId, access['Redemption.reward']);
    return toReward((await loaders.reward.load(redemption.rewardId))!);
  }
}
