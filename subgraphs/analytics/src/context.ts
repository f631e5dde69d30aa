import DataLoader from 'dataloader';
import type { RequestContext } from '@loyalty/kit';
import type { ExperimentService } from './experiment/experiment.service';
import type { ComplianceService } from './compliance/compliance.service';
import type { Projector } from './projection/projector';
import type { StatsRepository } from './stats/stats.repository';
import type { StatsService } from './stats/stats.service';
import type { CampaignPerformance } from './stats/stats.type';
import type { WebhookConsumer } from './webhook/webhook.consumer';
import type { WebhookDispatcher } from './webhook/webhook.dispatcher';
import type { WebhookService } from './webhook/webhook.service';

/** Process-wide: created once in main.ts. */
export interface Services {
  stats: StatsService;
  experiments: ExperimentService;
  statsRepository: StatsRepository;
  projector: Projector;
  compliance: ComplianceService;
  webhooks: WebhookService;
  webhookConsumer: WebhookConsumer;
  /** Absent when this replica does not send (WEBHOOK_DISPATCH=false). */
  webhookDispatcher?: WebhookDispatcher;
}

/** Per request: every list or reference field goes through one of these, so SQL does not grow with lists. */
export function createLoaders(services: Services, tenant: string) {
  const { statsRepository } = services;
  return {
    performance: new DataLoader<string, CampaignPerformance>((ids) => statsRepository.performance(tenant, ids)),
  };
}

export type Loaders = ReturnType<typeof createLoaders>;

export interface AnalyticsContext extends RequestContext {
  services: Services;
  loaders: Loaders;
}
