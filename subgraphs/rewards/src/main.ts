import 'reflect-metadata';
import { main, runSubgraph } from '@loyalty/kit';
import { createLoaders, type RewardsContext } from './context';
import { RewardsInitial1763800000201 } from './migrations/1763800000201-rewards-initial';
import { RewardEntity } from './reward/reward.entity';
import { RewardRepository } from './reward/reward.repository';
import { buildRewardsSchema } from './schema';

main(() =>
  runSubgraph<RewardRepository, RewardsContext>(
    {
      name: 'rewards',
      defaultPort: 4003,
      entities: [RewardEntity],
      migrations: [RewardsInitial1763800000201],
      buildSchema: buildRewardsSchema,
      createServices: ({ db }) => new RewardRepository(db),
      createContext: (base, repository) => ({ ...base, repository, loaders: createLoaders(repository, base.identity.tenant) }),
    },
    process.env,
  ),
);
