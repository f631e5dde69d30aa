import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema } from '@loyalty/kit';
import { StatsResolver } from './stats/stats.resolver';

export function buildAnalyticsSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({ resolvers: [StatsResolver] });
}
