import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { BadInputError, PageArgs, decodeCursor, encodeCursor, gate, hasRole, pageSize } from '@loyalty/kit';
import { access } from '../access';
import type { MembersContext } from '../context';
import { PointsExpiry } from '../ledger/lifecycle.type';
import { PointsTransactionConnection, toTransaction } from '../ledger/transaction.type';
import { Segment } from '../segment/segment.type';
import { Tier, TierProgress } from '../tier/tier.type';
import { ConsentInput, EnrollMemberInput, MemberFilter, UpdateMemberInput } from './member.inputs';
import { MemberOrder } from './member.search';
import { Member, MemberConnection, MemberErasure, MemberStatus, PointsAccount } from './member.type';

@Resolver(() => Member)
export class MemberResolver {
  @Query(() => Member, { nullable: true, description: 'The member of a `member` token; null for other roles' })
  async me(@Ctx() { identity, services, loaders }: MembersContext): Promise<Member | null> {
    if (!identity.memberId) return null;
    return services.members.get(identity, loaders, identity.memberId);
  }

  @Query(() => Member, { nullable: true })
  member(@Arg('id', () => ID) id: string, @Ctx() { identity, services, loaders }: MembersContext): Promise<Member | null> {
    return services.members.get(identity, loaders, id);
  }

  @Authorized(access['Query.members'])
  @Query(() => MemberConnection)
  members(
    @Arg('filter', () => MemberFilter, { nullable: true }) filter: MemberFilter | undefined,
    @Arg('orderBy', () => MemberOrder, { nullable: true, defaultValue: MemberOrder.ENROLLED_AT_ASC }) orderBy: MemberOrder | null,
    @Args(() => PageArgs) { first, after }: PageArgs,
    @Ctx() { identity, services }: MembersContext,
  ): Promise<MemberConnection> {
    return services.members.list(identity, filter ?? undefined, orderBy ?? MemberOrder.ENROLLED_AT_ASC, first ?? 20, after);
  }

  @Authorized(access['Mutation.enrollMember'])
  @Mutation(() => Member)
  enrollMember(@Arg('input', () => EnrollMemberInput) input: EnrollMemberInput, @Ctx() { identity, services }: MembersContext): Promise<Member> {
    return services.members.enroll(identity, input);
  }

  @Authorized(access['Mutation.updateMember'])
  @Mutation(() => Member)
  updateMember(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => UpdateMemberInput) input: UpdateMemberInput,
    @Ctx() { identity, services }: MembersContext,
  ): Promise<Member> {
    return services.members.update(identity, id, input);
  }

  @Authorized(gate(access['Mutation.updateConsents']))
  @Mutation(() => Member, { description: 'Sets marketing consents (the member itself, or staff and systems on its behalf); every change is recorded' })
  updateConsents(
    @Arg('memberId', () => ID) memberId: string,
    @Arg('input', () => ConsentInput) input: ConsentInput,
    @Ctx() { identity, services }: MembersContext,
  ): Promise<Member> {
    return services.members.updateConsents(identity, memberId, input);
  }

  @Authorized(access['Mutation.eraseMember'])
  @Mutation(() => Member, {
    description:
      "Erases the member's personal data in every subgraph (GDPR Art. 17): it becomes ERASED and can no longer earn, redeem or sign in. Points and reports stay exact. Progress: `erasure`",
  })
  eraseMember(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: MembersContext): Promise<Member> {
    return services.members.erase(identity, id);
  }

  @FieldResolver(() => MemberErasure, { nullable: true, description: 'The erasure of an ERASED member and which subgraphs confirmed it; null for others' })
  async erasure(@Root() member: Member, @Ctx() { loaders }: MembersContext): Promise<MemberErasure | null> {
    return member.status === MemberStatus.ERASED ? loaders.erasure.load(member.id) : null;
  }

  @FieldResolver(() => [Segment], { description: 'The segments the member is in now (staff and systems; empty for the member itself)' })
  async segments(@Root() member: Member, @Ctx() { identity, loaders }: MembersContext): Promise<Segment[]> {
    return hasRole(identity, access['Member.segments']) ? loaders.memberSegments.load(member.id) : [];
  }

  @FieldResolver(() => PointsAccount)
  async points(@Root() member: Member, @Ctx() { loaders }: MembersContext): Promise<PointsAccount> {
    const account = await loaders.account.load(member.id);
    return { memberId: member.id, balance: account?.balance ?? 0, pending: account?.pending ?? 0, lifetimeEarned: account?.lifetimeEarned ?? 0 };
  }

  @FieldResolver(() => Tier, { description: 'a tenant without tiers has a built-in base tier (rank 0, multiplier 1)' })
  tier(@Root() member: Member, @Ctx() { services, loaders }: MembersContext): Promise<Tier> {
    return services.tiers.ofMember(loaders, member);
  }

  @FieldResolver(() => TierProgress)
  tierProgress(@Root() member: Member, @Ctx() { services, loaders }: MembersContext): Promise<TierProgress> {
    return services.tiers.progress(loaders, member);
  }

  @FieldResolver(() => PointsTransactionConnection, { description: 'newest first' })
  async transactions(@Root() member: Member, @Args(() => PageArgs) { first, after }: PageArgs, @Ctx() { loaders }: MembersContext) {
    const size = pageSize(first ?? 20);
    const beforeSeq = decodeCursor(after, ['bigint'])?.[0] as string | undefined;
    const entries = await loaders.entries.load({ memberId: member.id, first: size, beforeSeq });
    return PointsTransactionConnection.from({
      nodes: entries.slice(0, size).map(toTransaction),
      hasNextPage: entries.length > size,
      cursorOf: (transaction) => encodeCursor([transaction.seq]),
      count: () => loaders.entryCount.load(member.id),
    });
  }
}

@Resolver(() => PointsAccount)
export class PointsAccountResolver {
  @FieldResolver(() => PointsExpiry, { nullable: true, description: 'the next spendable points to expire, and when; null when none expire' })
  nextExpiry(@Root() account: PointsAccount, @Ctx() { loaders }: MembersContext): Promise<PointsExpiry | null> {
    return loaders.nextExpiry.load(account.memberId);
  }

  @FieldResolver(() => Int, { description: 'spendable points that expire within the given number of days' })
  expiring(
    @Root() account: PointsAccount,
    @Arg('withinDays', () => Int, { nullable: true, defaultValue: 30 }) withinDays: number | null,
    @Ctx() { loaders }: MembersContext,
  ): Promise<number> {
    const days = withinDays ?? 30;
    if (days < 0 || days > 3650) throw new BadInputError('withinDays', 'withinDays must be between 0 and 3650');
    return loaders.expiring.load({ memberId: account.memberId, days });
  }
}
