import 'reflect-metadata';
import { createLedgerClient, main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import { z } from 'zod';
import { ActivityRepository } from './activity/activity.repository';
import { ActivityService, startCreditRetry, startReferralRetry } from './activity/activity.service';
import { ReferralRepository } from './activity/referral.repository';
import { CampaignEntity } from './campaign/campaign.entity';
import { CampaignRepository } from './campaign/campaign.repository';
import { CampaignSimulator } from './campaign/campaign.simulation';
import { CampaignService } from './campaign/campaign.service';
import { createLoaders, type CampaignsContext, type Services } from './context';
import { CampaignsInitial1763800000101 } from './migrations/1763800000101-campaigns-initial';
import { Earning1763800000102 } from './migrations/1763800000102-earning';
import { BigBudgets1763800000103 } from './migrations/1763800000103-big-budgets';
import { UniquePurchaseOrders1763800000104 } from './migrations/1763800000104-unique-purchase-orders';
import { Returns1763800000105 } from './migrations/1763800000105-returns';
import { CapGrants1763800000106 } from './migrations/1763800000106-cap-grants';
import { AuditAndErasure1763800000107 } from './migrations/1763800000107-audit-and-erasure';
import { Experiments1763800000109 } from './migrations/1763800000109-experiments';
import { Stacking1763800000108 } from './migrations/1763800000108-stacking';
import { Referrals1763800000110 } from './migrations/1763800000110-referrals';
import { campaignsPrivacy } from './activity/activity.privacy';
import { ReturnRepository } from './return/return.repository';
import { ReturnService, startReturnRecovery } from './return/return.service';
import { buildCampaignsSchema } from './schema';

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(
  subgraphEnv(4002, 'loyalty_campaigns').extend({
    ACTIVITY_CREDIT_RETRY_INTERVAL_MS: z.coerce.number().int().min(50).default(5000),
    ACTIVITY_CREDIT_RETRY_AFTER_MS: z.coerce.number().int().min(0).default(10_000),
    /** How many days in the past an activity's occurredAt may lie (older would refill past caps). */
    MAX_BACKDATE_DAYS: z.coerce.number().int().min(0).default(30),
  }),
  process.env,
);

main(() =>
  runSubgraph<Services, CampaignsContext>(
    {
      name: 'campaigns',
      entities: [CampaignEntity],
      migrations: [CampaignsInitial1763800000101, Earning1763800000102, BigBudgets1763800000103, UniquePurchaseOrders1763800000104, Returns1763800000105, CapGrants1763800000106, AuditAndErasure1763800000107, Stacking1763800000108, Experiments1763800000109, Referrals1763800000110],
      buildSchema: buildCampaignsSchema,
      outbox: true,
      createServices: ({ db, log, membersUrl, serviceSecret, audit }) => {
        const ledger = createLedgerClient({ url: membersUrl, serviceSecret, service: 'campaigns' });
        const repository = new CampaignRepository(db);
        const activityRepository = new ActivityRepository(db);
        const activities = new ActivityService(db, activityRepository, repository, ledger, log, { maxBackdateDays: config.MAX_BACKDATE_DAYS }, audit, new ReferralRepository(db));
        return {
          campaigns: new CampaignService(db, repository, audit, ledger),
          simulator: new CampaignSimulator(activityRepository, ledger),
          activities,
          returns: new ReturnService(db, new ReturnRepository(db), activityRepository, activities, ledger, log, audit),
          repository,
          ledger,
        };
      },
      privacy: (_services, { db }) => campaignsPrivacy(db),
      createContext: (base, services) => ({ ...base, services, loaders: createLoaders(services, base.identity.tenant) }),
      // Credits activities, gives referral rewards, and reverses returns, that a crash or an unreachable members subgraph left PENDING.
      onStart: async (services, { log }) => {
        const every = config.ACTIVITY_CREDIT_RETRY_INTERVAL_MS;
        const after = config.ACTIVITY_CREDIT_RETRY_AFTER_MS;
        const stops = [
          startCreditRetry(services.activities, log, every, after),
          startReferralRetry(services.activities, log, every, after),
          startReturnRecovery(services.returns, log, every, after),
        ];
        return async () => {
          await Promise.all(stops.map((stop) => stop()));
        };
      },
    },
    config,
  ),
);
