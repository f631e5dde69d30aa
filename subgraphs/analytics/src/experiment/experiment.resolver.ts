import { Arg, Authorized, Ctx, ID, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { AnalyticsContext } from '../context';
import { ExperimentReport } from './experiment.type';

@Resolver(() => ExperimentReport)
export class ExperimentResolver {
  @Authorized(access['Query.experimentReport'])
  @Query(() => ExperimentReport, { description: "compares each arm of a campaign's experiment with its holdout; figures of the experiment's time, kept after promoteVariant" })
  experimentReport(
    @Arg('campaignId', () => ID, { description: 'a campaign that runs or ran an experiment' }) campaignId: string,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<ExperimentReport> {
    return services.experiments.report(identity.tenant, campaignId);
  }
}
