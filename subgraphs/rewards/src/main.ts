import 'reflect-metadata';
import { createLedgerClient, main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import { z } from 'zod';
import { createLoaders, type RewardsContext, type Services } from './context';
import { RewardsInitial1763800000201 } from './migrations/1763800000201-rewards-initial';
import { Redemptions1763800000202 } from './migrations/1763800000202-redemptions';
import { RedemptionCancelling1763800000203 } from './migrations/1763800000203-redemption-cancelling';
import { RedemptionCodes1763800000204 } from './migrations/1763800000204-redemption-codes';
import { RedemptionEntity } from './redemption/redemption.entity';
import { RedemptionRepository } from './redemption/redemption.repository';
import { RedemptionService, startRecovery } from './redemption/redemption.service';
import { RewardEntity } from './reward/reward.entity';
import { RewardRepository } from './reward/reward.repository';
import { RewardService } from './reward/reward.service';
import { buildRewardsSchema } from './schema';
import { AuditAndErasure1763800000205 } from './migrations/1763800000205-audit-and-erasure';
import { rewardsPrivacy } from './redemption/redemption.privacy';
import { CodePools1763800000206 } from './migrations/1763800000206-code-pools';
import { RewardSegments1763800000207 } from './migrations/1763800000207-reward-segments';

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(
  subgraphEnv(4003, 'loyalty_rewards').extend({
    REDEMPTION_RECOVERY_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
    REDEMPTION_RECOVERY_AFTER_MS: z.coerce.number().int().min(0).default(10_000),
  }),
  process.env,
);

main(() =>
  runSubgraph<Services, RewardsContext>(
    {
      name: 'rewards',
      entities: [RewardEntity, RedemptionEntity],
      migrations: [RewardsInitial1763800000201, Redemptions1763800000202, RedemptionCancelling1763800000203, RedemptionCodes1763800000204, AuditAndErasure1763800000205, CodePools1763800000206, RewardSegments1763800000207],
      buildSchema: buildRewardsSchema,
      outbox: true,
      createServices: ({ db, log, membersUrl, serviceSecret, audit }) => {
        const ledger = createLedgerClient({ url: membersUrl, serviceSecret, service: 'rewards' });
        const rewardRepository = new RewardRepository(db);
        const redemptionRepository = new RedemptionRepository(db);
        return {
          rewards: new RewardService(db, rewardRepository, audit, ledger),
          redemptions: new RedemptionService(db, redemptionRepository, rewardRepository, ledger, log, audit),
          rewardRepository,
          redemptionRepository,
          ledger,
        };
      },
      privacy: (_services, { db }) => rewardsPrivacy(db),
      createContext: (base, services) => ({ ...base, services, loaders: createLoaders(services, base.identity.tenant) }),
      // Settles redemptions a crash or an unreachable ledger left PENDING, and finishes cancellations left CANCELLING.
      onStart: async (services, { log }) =>
        startRecovery(services.redemptions, log, config.REDEMPTION_RECOVERY_INTERVAL_MS, config.REDEMPTION_RECOVERY_AFTER_MS),
    },
    config,
  ),
);
