import 'reflect-metadata';
import { main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import type { Router } from 'express';
import { createLoaders, type AnalyticsContext, type Services } from './context';
import { AnalyticsInitial1763800000301 } from './migrations/1763800000301-analytics-initial';
import { ProjectionRepository } from './projection/projection.repository';
import { Projector } from './projection/projector';
import { buildAnalyticsSchema } from './schema';
import { StatsRepository } from './stats/stats.repository';
import { StatsService } from './stats/stats.service';

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(subgraphEnv(4004, 'loyalty_analytics'), process.env);

main(() =>
  runSubgraph<Services, AnalyticsContext>(
    {
      name: 'analytics',
      entities: [],
      migrations: [AnalyticsInitial1763800000301],
      buildSchema: buildAnalyticsSchema,
      createServices: ({ db, bus, log }) => {
        const statsRepository = new StatsRepository(db);
        return { stats: new StatsService(statsRepository), statsRepository, projector: new Projector(db, new ProjectionRepository(db), bus, log) };
      },
      createContext: (base, services) => ({ ...base, services, loaders: createLoaders(services, base.identity.tenant) }),
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
