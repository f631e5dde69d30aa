import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { pageOf, requireMemberAccess, timeIdPage } from '@loyalty/kit';
import type { RewardsContext } from '../context';
import { access } from '../access';
import { DEFAULT_LISTED_STATUSES, RedemptionConnection, RedemptionStatus, storedStatuses, toRedemption } from '../redemption/redemption.type';
import { Reward, toReward } from '../reward/reward.type';
import { Member } from './member.type';

@Resolver(() => Member)
export class MemberRewardsResolver {
  @FieldResolver(() => [Reward], { description: 'active, in stock, tier allows, under the per-member limit, affordable now' })
  async availableRewards(@Root() member: Member, @Ctx() { identity, loaders }: RewardsContext): Promise<Reward[]> {
    requireMemberAccess(identity, member.id, access['Member.availableRewards']);
    return (await loaders.available.load(member.id)).map(toReward);
  }

  @FieldResolver(() => RedemptionConnection, { description: 'newest first; by default every status but FAILED (edges and totalCount alike)' })
  async redemptions(
    @Root() member: Member,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Arg('status', () => [RedemptionStatus], { nullable: true, defaultValue: DEFAULT_LISTED_STATUSES }) status: RedemptionStatus[] | null,
    @Ctx() { identity, loaders }: RewardsContext,
  ): Promise<RedemptionConnection> {
    requireMemberAccess(identity, member.id, access['Member.redemptions']);
    const statuses = storedStatuses(status ?? DEFAULT_LISTED_STATUSES);
    const page = await timeIdPage(first ?? 20, after, {
      // The loader reads one row past the page, for every member of the request at once.
      read: async (size, before) => pageOf(statuses.length ? await loaders.redemptions.load({ memberId: member.id, statuses, first: size, before }) : [], size),
      toNode: toRedemption,
      keyOf: (redemption) => [redemption.createdAt, redemption.id],
      count: async () => (statuses.length ? loaders.redemptionCount.load({ memberId: member.id, statuses }) : 0),
    });
    return RedemptionConnection.from(page);
  }
}
