import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { decodeCursor, encodeCursor, pageSize, requireMemberAccess } from '@loyalty/kit';
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
    const size = pageSize(first ?? 20);
    const before = decodeCursor(after, ['timestamp', 'uuid']) as [string, string] | undefined;
    const statuses = storedStatuses(status ?? DEFAULT_LISTED_STATUSES);
    const rows = statuses.length ? await loaders.redemptions.load({ memberId: member.id, statuses, first: size, before }) : [];
    return RedemptionConnection.from({
      nodes: rows.slice(0, size).map(toRedemption),
      hasNextPage: rows.length > size,
      cursorOf: (redemption) => encodeCursor([redemption.createdAt.toISOString(), redemption.id]),
      count: async () => (statuses.length ? loaders.redemptionCount.load({ memberId: member.id, statuses }) : 0),
    });
  }
}
