import { Arg, Ctx, FieldResolver, Int, Resolver, Root } from 'type-graphql';
import { decodeCursor, encodeCursor, pageSize, requireMemberAccess } from '@loyalty/kit';
import type { RewardsContext } from '../context';
import { READ_REDEMPTIONS } from '../redemption/redemption.service';
import { RedemptionConnection, toRedemption } from '../redemption/redemption.type';
import { Reward, toReward } from '../reward/reward.type';
import { Member } from './member.type';

@Resolver(() => Member)
export class MemberRewardsResolver {
  @FieldResolver(() => [Reward], { description: 'active, in stock, tier allows, under the per-member limit, affordable now' })
  async availableRewards(@Root() member: Member, @Ctx() { identity, loaders }: RewardsContext): Promise<Reward[]> {
    requireMemberAccess(identity, member.id, READ_REDEMPTIONS);
    return (await loaders.available.load(member.id)).map(toReward);
  }

  @FieldResolver(() => RedemptionConnection, { description: 'newest first' })
  async redemptions(
    @Root() member: Member,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, loaders }: RewardsContext,
  ): Promise<RedemptionConnection> {
    requireMemberAccess(identity, member.id, READ_REDEMPTIONS);
    const size = pageSize(first ?? 20);
    const before = decodeCursor(after, ['timestamp', 'uuid']) as [string, string] | undefined;
    const rows = await loaders.redemptions.load({ memberId: member.id, first: size, before });
    return RedemptionConnection.from({
      nodes: rows.slice(0, size).map(toRedemption),
      hasNextPage: rows.length > size,
      cursorOf: (redemption) => encodeCursor([redemption.createdAt.toISOString(), redemption.id]),
      count: () => loaders.redemptionCount.load(member.id),
    });
  }
}
