import { Arg, Args, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { PageArgs } from '@loyalty/kit';
import { access } from '../access';
import type { MembersContext } from '../context';
import { SegmentInput } from './segment.inputs';
import { Segment, SegmentConnection } from './segment.type';

@Resolver(() => Segment)
export class SegmentResolver {
  @Authorized(access['Query.segments'])
  @Query(() => SegmentConnection, { description: "The tenant's segments, oldest first" })
  segments(@Args(() => PageArgs) { first, after }: PageArgs, @Ctx() { identity, services }: MembersContext): Promise<SegmentConnection> {
    return services.segments.list(identity, first ?? 20, after);
  }

  @Authorized(access['Query.segment'])
  @Query(() => Segment, { nullable: true, description: 'A segment of the tenant; null when there is none with this id' })
  segment(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: MembersContext): Promise<Segment | null> {
    return services.segments.get(identity, id);
  }

  @Authorized(access['Mutation.upsertSegment'])
  @Mutation(() => Segment, { description: 'Creates a segment, or changes the name and conditions of one; its membership follows at once' })
  upsertSegment(@Arg('input', () => SegmentInput) input: SegmentInput, @Ctx() { identity, services }: MembersContext): Promise<Segment> {
    return services.segments.upsert(identity, input);
  }

  @Authorized(access['Mutation.deleteSegment'])
  @Mutation(() => Segment, { description: 'Deletes a segment; campaigns and rewards that name it reach nobody through it' })
  deleteSegment(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: MembersContext): Promise<Segment> {
    return services.segments.delete(identity, id);
  }

  @FieldResolver(() => Int, { description: 'How many members are in the segment now: exact, counted from its conditions when asked' })
  memberCount(@Root() segment: Segment, @Ctx() { loaders }: MembersContext): Promise<number> {
    return loaders.segmentMemberCount.load(segment);
  }
}
