import DataLoader from 'dataloader';
import { memberSnapshotLoader, type LedgerClient, type RequestContext } from '@loyalty/kit';
import type { ActivityService } from './activity/activity.service';
import type { CampaignEntity } from './campaign/campaign.entity';
import type { CampaignRepository } from './campaign/campaign.repository';
import type { CampaignService } from './campaign/campaign.service';
import type { CampaignSimulator } from './campaign/campaign.simulation';
import type { ReturnService } from './return/return.service';

export interface Services {
  campaigns: CampaignService;
  simulator: CampaignSimulator;
  activities: ActivityService;
  returns: ReturnService;
  repository: CampaignRepository;
  ledger: LedgerClient;
}

/** Per request: every list or reference field goes through one of these. */
export function createLoaders(services: Services, tenant: string) {
  const { repository, ledger } = services;
  return {
    campaign: new DataLoader<string, CampaignEntity | null>((ids) => repository.findByIds(tenant, ids)),
    /** The tenant's campaigns running now, read once per request. */
    running: new DataLoader<'now', CampaignEntity[]>(async (keys) => {
      const running = await repository.running(tenant);
      return keys.map(() => running);
    }),
    member: memberSnapshotLoader(ledger, tenant),
  };
}

export interface CampaignsContext extends RequestContext {
  services: Services;
  loaders: ReturnType<typeof createLoaders>;
}
