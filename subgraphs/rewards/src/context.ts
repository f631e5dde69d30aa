import DataLoader from 'dataloader';
import { memberSnapshotLoader, type LedgerClient, type MemberSnapshot, type RequestContext } from '@loyalty/kit';
import type { RedemptionEntity, RedemptionStatusValue } from './redemption/redemption.entity';
import type { RedemptionRepository } from './redemption/redemption.repository';
import type { RedemptionService } from './redemption/redemption.service';
import type { RewardEntity } from './reward/reward.entity';
import type { RewardRepository } from './reward/reward.repository';
import type { RewardService } from './reward/reward.service';

export interface Services {
  rewards: RewardService;
  redemptions: RedemptionService;
  rewardRepository: RewardRepository;
  redemptionRepository: RedemptionRepository;
  ledger: LedgerClient;
}

interface PageKey {
  memberId: string;
  statuses: RedemptionStatusValue[];
  first: number;
  before?: [string, string];
}

interface CountKey {
  memberId: string;
  statuses: RedemptionStatusValue[];
}

const statusesKey = (statuses: readonly string[]) => [...statuses].sort().join(',');

/** Per request: every list or reference field goes through one of these. */
export function createLoaders(services: Services, tenant: string) {
  const { rewardRepository, redemptionRepository, ledger } = services;
  const snapshot = memberSnapshotLoader(ledger, tenant);
  return {
    reward: new DataLoader<string, RewardEntity | null>((ids) => rewardRepository.findByIds(tenant, ids)),
    /** Free pool codes per reward; null for a reward without a pool. */
    codesAvailable: new DataLoader<string, number | null>(async (ids) => {
      const free = await rewardRepository.codesAvailable(tenant, ids);
      return ids.map((id) => free.get(id) ?? null);
    }),
    redemption: new DataLoader<string, RedemptionEntity | null>((ids) => redemptionRepository.byIds(tenant, ids)),
    available: new DataLoader<string, RewardEntity[]>(async (ids) => {
      const loaded = await snapshot.loadMany(ids);
      const failure = loaded.find((m) => m instanceof Error);
      if (failure) throw failure;
      const members = loaded.filter((m): m is MemberSnapshot => m !== null);
      const available = await redemptionRepository.available(tenant, members);
      return ids.map((id) => available.get(id) ?? []);
    }),
    redemptions: new DataLoader<PageKey, RedemptionEntity[], string>(
      async (keys) => {
        // Keys of one request share their page arguments; group them anyway to stay correct.
        const groups = new Map<string, PageKey[]>();
        for (const key of keys) {
          const group = `${statusesKey(key.statuses)}|${key.first}|${key.before?.join('|') ?? ''}`;
          groups.set(group, [...(groups.get(group) ?? []), key]);
        }
        const results = new Map<PageKey, RedemptionEntity[]>();
        for (const members of groups.values()) {
          const { statuses, first, before } = members[0]!;
          const page = await redemptionRepository.latest(tenant, [...new Set(members.map((k) => k.memberId))], statuses, first, before);
          for (const key of members) results.set(key, page.get(key.memberId) ?? []);
        }
        return keys.map((key) => results.get(key) ?? []);
      },
      { cacheKeyFn: (key) => `${key.memberId}|${statusesKey(key.statuses)}|${key.first}|${key.before?.join('|') ?? ''}` },
    ),
    redemptionCount: new DataLoader<CountKey, number, string>(
      async (keys) => {
        const groups = new Map<string, CountKey[]>();
        for (const key of keys) groups.set(statusesKey(key.statuses), [...(groups.get(statusesKey(key.statuses)) ?? []), key]);
        const results = new Map<CountKey, number>();
        for (const members of groups.values()) {
          const counts = await redemptionRepository.counts(tenant, [...new Set(members.map((k) => k.memberId))], members[0]!.statuses);
          for (const key of members) results.set(key, counts.get(key.memberId) ?? 0);
        }
        return keys.map((key) => results.get(key) ?? 0);
      },
      { cacheKeyFn: (key) => `${key.memberId}|${statusesKey(key.statuses)}` },
    ),
  };
}

export interface RewardsContext extends RequestContext {
  services: Services;
  loaders: ReturnType<typeof createLoaders>;
}
