import { Arg, Authorized, Ctx, FieldResolver, Int, Query, Resolver, Root } from 'type-graphql';
import { access } from '../access';
import type { AnalyticsContext } from '../context';
import { Campaign, CampaignPerformance, DateRangeInput, Interval, ProgramStats, RewardStat, StoreStat, TimelinePoint } from './stats.type';

/** Reports, each answered from pre-aggregated daily rows: the cost grows with the range, not with events. */
@Resolver(() => ProgramStats)
export class StatsResolver {
  @Authorized(access['Query.programStats'])
  @Query(() => ProgramStats)
  programStats(
    @Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<ProgramStats> {
    return services.stats.program(identity.tenant, range);
  }

  @Authorized(access['Query.topRewards'])
  @Query(() => [RewardStat])
  topRewards(
    @Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null,
    @Arg('limit', () => Int, { nullable: true, defaultValue: 10 }) limit: number | null,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<RewardStat[]> {
    return services.stats.topRewards(identity.tenant, range, limit);
  }

  @Authorized(access['Query.redemptionsByStore'])
  @Query(() => [StoreStat])
  redemptionsByStore(
    @Arg('range', () => DateRangeInput, { nullable: true }) range: DateRangeInput | null,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<StoreStat[]> {
    return services.stats.redemptionsByStore(identity.tenant, range);
  }

  @Authorized(access['Query.pointsTimeline'])
  @Query(() => [TimelinePoint], { description: 'every bucket of the range, empty ones included' })
  pointsTimeline(
    @Arg('range', () => DateRangeInput) range: DateRangeInput,
    @Arg('interval', () => Interval) interval: Interval,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<TimelinePoint[]> {
    return services.stats.timeline(identity.tenant, range, interval);
  }
}

@Resolver(() => Campaign)
export class CampaignPerformanceResolver {
  @Authorized(access['Campaign.performance'])
  @FieldResolver(() => CampaignPerformance)
  performance(@Root() campaign: Campaign, @Ctx() { loaders }: AnalyticsContext): Promise<CampaignPerformance> {
    return loaders.performance.load(campaign.id);
  }
}
