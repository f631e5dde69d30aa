import 'reflect-metadata';
import { main, runSubgraph } from '@loyalty/kit';
import type { DataSource } from 'typeorm';
import { AnalyticsInitial1763800000301 } from './migrations/1763800000301-analytics-initial';
import { buildAnalyticsSchema } from './schema';
import type { AnalyticsContext } from './stats/stats.resolver';

main(() =>
  runSubgraph<DataSource, AnalyticsContext>(
    {
      name: 'analytics',
      defaultPort: 4004,
      entities: [],
      migrations: [AnalyticsInitial1763800000301],
      buildSchema: buildAnalyticsSchema,
      createServices: ({ db }) => db,
      createContext: (base, db) => ({ ...base, db }),
    },
    process.env,
  ),
);
