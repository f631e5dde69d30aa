import DataLoader from 'dataloader';
import type { RequestContext } from '@loyalty/kit';
import type { RewardEntity } from './reward/reward.entity';
import type { RewardRepository } from './reward/reward.repository';

export function createLoaders(repository: RewardRepository, tenant: string) {
  return {
    reward: new DataLoader<string, RewardEntity | null>((ids) => repository.findByIds(tenant, ids)),
  };
}

export interface RewardsContext extends RequestContext {
  repository: RewardRepository;
  loaders: ReturnType<typeof createLoaders>;
}
