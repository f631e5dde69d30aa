import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '@loyalty/kit';
import { ExperimentResolver } from './experiment/experiment.resolver';
import { ComplianceResolver } from './compliance/compliance.resolver';
import { CampaignPerformanceResolver, StatsResolver } from './stats/stats.resolver';
import { Campaign } from './stats/stats.type';
import { WebhookResolver } from './webhook/webhook.resolver';

export function buildAnalyticsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [StatsResolver, CampaignPerformanceResolver, ExperimentResolver, ComplianceResolver, WebhookResolver],
    // Reachable from no query here: Campaign is only extended with its performance.
    orphanedTypes: [Campaign],
    references: {
      Campaign: { __resolveReference: (ref: { id: string }) => ({ id: ref.id }) },
    },
  });
}
