import 'reflect-metadata';
import { main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import type { Router } from 'express';
import { AnalyticsInitial1763800000301 } from './migrations/1763800000301-analytics-initial';
import { Projector } from './projection/projector';
import { buildAnalyticsSchema } from './schema';
import { performanceLoader, type AnalyticsContext } from './stats/stats.resolver';
import type { DataSource } from 'typeorm';

interface Services {
  db: DataSource;
  projector: Projector;
}

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(subgraphEnv(4004, 'loyalty_analytics'), process.env);

main(() =>
  runSubgraph<Services, AnalyticsContext>(
    {
      name: 'analytics',
      entities: [],
      migrations: [AnalyticsInitial1763800000301],
      buildSchema: buildAnalyticsSchema,
      createServices: ({ db, bus, log }) => ({ db, projector: new Projector(db, bus, log) }),
      createContext: (base, { db }) => ({ ...base, db, performance: performanceLoader(db, base.identity.tenant) }),
      // The read models follow the event bus from the last applied position.
      onStart: async ({ projector }) => {
        await projector.start();
        return () => projector.stop();
      },
      internalRoutes: (router: Router, { projector }) => {
        router.get('/analytics/position', async (_req, res) => {
          res.json({ position: await projector.position() });
        });
      },
    },
    config,
  ),
);
