import 'reflect-metadata';
import { ConsumerPositions, createServiceCaller, main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import type { Router } from 'express';
import { z } from 'zod';
import { analyticsPrivacy } from './compliance/analytics.privacy';
import { ComplianceService } from './compliance/compliance.service';
import { createLoaders, type AnalyticsContext, type Services } from './context';
import { AnalyticsInitial1763800000301 } from './migrations/1763800000301-analytics-initial';
import { Webhooks1763800000302 } from './migrations/1763800000302-webhooks';
import { Audit1763800000303 } from './migrations/1763800000303-audit';
import { Experiments1763800000304 } from './migrations/1763800000304-experiments';
import { ProjectionRepository } from './projection/projection.repository';
import { Projector } from './projection/projector';
import { buildAnalyticsSchema } from './schema';
import { ExperimentRepository } from './experiment/experiment.repository';
import { ExperimentService } from './experiment/experiment.service';
import { StatsRepository } from './stats/stats.repository';
import { StatsService } from './stats/stats.service';
import { WebhookConsumer } from './webhook/webhook.consumer';
import { WebhookDispatcher } from './webhook/webhook.dispatcher';
import { WebhookRepository } from './webhook/webhook.repository';
import { DEFAULT_SCHEDULE } from './webhook/webhook.rule';
import { WebhookSecrets } from './webhook/webhook.secrets';
import { WebhookService } from './webhook/webhook.service';

const ms = (fallback: number, min = 1) => z.coerce.number().int().min(min).default(fallback);

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(
  subgraphEnv(4004, 'loyalty_analytics')
    .extend({
      // The retry schedule of failed webhook deliveries (docs/integrations.md): the nominal first
      // delay (each later one doubles, with jitter), its cap, and how long to retry before DEAD.
      WEBHOOK_RETRY_BASE_MS: ms(DEFAULT_SCHEDULE.baseMs),
      WEBHOOK_RETRY_MAX_DELAY_MS: ms(DEFAULT_SCHEDULE.maxDelayMs),
      WEBHOOK_RETRY_FOR_MS: ms(DEFAULT_SCHEDULE.retryForMs, 0),
      // No answer within this is a failed attempt.
      WEBHOOK_TIMEOUT_MS: ms(10_000, 100).pipe(z.number().max(120_000)),
      // Deliveries in flight per endpoint (all replicas together), and per replica (all endpoints).
      WEBHOOK_CONCURRENCY: ms(16),
      // …and per endpoint while one of its deliveries is FAILED (awaiting a retry).
      WEBHOOK_FAILING_CONCURRENCY: ms(2),
      WEBHOOK_CAPACITY: ms(256),
      WEBHOOK_POLL_MS: ms(250, 10),
      // How long a claimed delivery is held before another replica may take it (its sender died):
      // longer than the timeout, so a live sender always records its result first.
      WEBHOOK_LEASE_MS: z.coerce.number().int().min(1).optional(),
      // false: this replica serves the API and queues deliveries, and leaves sending to the others.
      WEBHOOK_DISPATCH: z
        .enum(['true', 'false'])
        .default('true')
        .transform((value) => value === 'true'),
    })
    .refine((c) => c.WEBHOOK_RETRY_BASE_MS <= c.WEBHOOK_RETRY_MAX_DELAY_MS, { message: 'must be at least WEBHOOK_RETRY_BASE_MS', path: ['WEBHOOK_RETRY_MAX_DELAY_MS'] })
    .refine((c) => c.WEBHOOK_LEASE_MS === undefined || c.WEBHOOK_LEASE_MS > c.WEBHOOK_TIMEOUT_MS, { message: 'must be longer than WEBHOOK_TIMEOUT_MS', path: ['WEBHOOK_LEASE_MS'] }),
  process.env,
);
const production = config.NODE_ENV === 'production';

main(() =>
  runSubgraph<Services, AnalyticsContext>(
    {
      name: 'analytics',
      entities: [],
      migrations: [AnalyticsInitial1763800000301, Webhooks1763800000302, Audit1763800000303, Experiments1763800000304],
      buildSchema: buildAnalyticsSchema,
      createServices: ({ db, bus, log, serviceSecret, urls, audit }) => {
        const statsRepository = new StatsRepository(db);
        const peer = (url: string) => createServiceCaller({ url, serviceSecret, service: 'analytics' });
        const peers = { members: peer(urls.members), campaigns: peer(urls.campaigns), rewards: peer(urls.rewards) };
        const positions = new ConsumerPositions(db);
        const webhookRepository = new WebhookRepository(db);
        const secrets = new WebhookSecrets(serviceSecret);
        const dispatcher = config.WEBHOOK_DISPATCH
          ? new WebhookDispatcher(
              webhookRepository,
              secrets,
              {
                schedule: { baseMs: config.WEBHOOK_RETRY_BASE_MS, maxDelayMs: config.WEBHOOK_RETRY_MAX_DELAY_MS, retryForMs: config.WEBHOOK_RETRY_FOR_MS },
                timeoutMs: config.WEBHOOK_TIMEOUT_MS,
                perEndpoint: config.WEBHOOK_CONCURRENCY,
                perFailingEndpoint: Math.min(config.WEBHOOK_FAILING_CONCURRENCY, config.WEBHOOK_CONCURRENCY),
                capacity: config.WEBHOOK_CAPACITY,
                pollMs: config.WEBHOOK_POLL_MS,
                leaseMs: config.WEBHOOK_LEASE_MS ?? config.WEBHOOK_TIMEOUT_MS + 30_000,
                production,
              },
              log,
            )
          : undefined;
        return {
          stats: new StatsService(statsRepository),
          experiments: new ExperimentService(new ExperimentRepository(db)),
          statsRepository,
          projector: new Projector(db, new ProjectionRepository(db), positions, bus, log),
          webhooks: new WebhookService(db, webhookRepository, secrets, { production }, audit),
          webhookConsumer: new WebhookConsumer(db, webhookRepository, positions, bus, log, () => dispatcher?.wake()),
          webhookDispatcher: dispatcher,
          compliance: new ComplianceService(db, peers, analyticsPrivacy(db)),
        };
      },
      privacy: (_services, { db }) => analyticsPrivacy(db),
      createContext: (base, services) => ({ ...base, services, loaders: createLoaders(services, base.identity.tenant) }),
      // The read models and the webhook queue follow the event bus from their last positions.
      onStart: async ({ projector, webhookConsumer, webhookDispatcher }) => {
        await projector.start();
        await webhookConsumer.start();
        webhookDispatcher?.start();
        return async () => {
          await webhookDispatcher?.stop();
          await webhookConsumer.stop();
          await projector.stop();
        };
      },
      internalRoutes: (router: Router, { projector, webhookConsumer }) => {
        router.get('/analytics/position', async (_req, res) => {
          res.json({ position: await projector.position() });
        });
        router.get('/webhooks/position', async (_req, res) => {
          res.json({ position: await webhookConsumer.position() });
        });
      },
    },
    config,
  ),
);
