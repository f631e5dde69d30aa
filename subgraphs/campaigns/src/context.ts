import DataLoader from 'dataloader';
import type { RequestContext } from '@loyalty/kit';
import type { CampaignEntity } from './campaign/campaign.entity';
import type { CampaignRepository } from './campaign/campaign.repository';

export function createLoaders(repository: CampaignRepository, tenant: string) {
  return {
    campaign: new DataLoader<string, CampaignEntity | null>((ids) => repository.findByIds(tenant, ids)),
  };
}

export interface CampaignsContext extends RequestContext {
  repository: CampaignRepository;
  loaders: ReturnType<typeof createLoaders>;
}
