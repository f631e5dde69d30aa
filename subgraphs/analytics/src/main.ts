import 'reflect-metadata';
import { createServiceCaller, main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import type { Router } from 'express';
import { analyticsPrivacy } from './compliance/analytics.privacy';
import { ComplianceService } from './compliance/compliance.service';
import { createLoaders, type AnalyticsContext, type Services } from './context';
import { AnalyticsInitial1763800000301 } from './migrations/1763800000301-analytics-initial';
import { Audit1763800000303 } from './migrations/1763800000303-audit';
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
      migrations: [AnalyticsInitial1763800000301, Audit1763800000303],
      buildSchema: buildAnalyticsSchema,
      createServices: ({ db, bus, log, urls, serviceSecret }) => {
        const statsRepository = new StatsRepository(db);
        const peer = (url: string) => createServiceCaller({ url, serviceSecret, service: 'analytics' });
        const peers = { members: peer(urls.members), campaigns: peer(urls.campaigns), rewards: peer(urls.rewards) };
        return {
          stats: new StatsService(statsRepository),
          statsRepository,
          projector: new Projector(db, new ProjectionRepository(db), bus, log),
          compliance: new ComplianceService(db, peers, analyticsPrivacy(db)),
        };
      },
      privacy: (_services, { db }) => analyticsPrivacy(db),
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
