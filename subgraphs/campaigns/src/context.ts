import DataLoader from 'dataloader';
import { LedgerUnavailableError, ServiceUnavailableError, type LedgerClient, type MemberSnapshot, type RequestContext } from '@loyalty/kit';
import type { ActivityService } from './activity/activity.service';
import type { CampaignEntity } from './campaign/campaign.entity';
import type { CampaignRepository } from './campaign/campaign.repository';
import type { CampaignService } from './campaign/campaign.service';

export interface Services {
  campaigns: CampaignService;
  activities: ActivityService;
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
    member: new DataLoader<string, MemberSnapshot | null>(async (ids) => {
      const snapshots = await ledger.members(tenant, ids).catch((error: unknown) => {
        throw error instanceof LedgerUnavailableError ? new ServiceUnavailableError('Members cannot be read right now; retry later') : error;
      });
      const found = new Map(snapshots.map((m) => [m.id, m]));
      return ids.map((id) => found.get(id) ?? null);
    }),
  };
}

export interface CampaignsContext extends RequestContext {
  services: Services;
  loaders: ReturnType<typeof createLoaders>;
}
