import 'reflect-metadata';
import { main, runSubgraph } from '@loyalty/kit';
import { ApiKeyEntity } from './api-key/api-key.entity';
import { apiKeyRoutes } from './api-key/api-key.routes';
import { ApiKeyService } from './api-key/api-key.service';
import { createLoaders, type MembersContext, type Services } from './context';
import { LedgerEntryEntity, PointAccountEntity } from './ledger/ledger.entity';
import { LedgerRepository } from './ledger/ledger.repository';
import { ledgerRoutes } from './ledger/ledger.routes';
import { LedgerService } from './ledger/ledger.service';
import { MemberEntity } from './member/member.entity';
import { MemberRepository } from './member/member.repository';
import { memberRoutes } from './member/member.routes';
import { MemberService } from './member/member.service';
import { MembersInitial1763800000001 } from './migrations/1763800000001-members-initial';
import { EarnDays1763800000002 } from './migrations/1763800000002-earn-days';
import { buildMembersSchema } from './schema';
import { seedDemo } from './seed';
import { TierEntity } from './tier/tier.entity';
import { TierRepository } from './tier/tier.repository';
import { TierService } from './tier/tier.service';

main(() =>
  runSubgraph<Services, MembersContext>(
    {
      name: 'members',
      defaultPort: 4001,
      entities: [MemberEntity, TierEntity, LedgerEntryEntity, PointAccountEntity, ApiKeyEntity],
      migrations: [MembersInitial1763800000001, EarnDays1763800000002],
      buildSchema: buildMembersSchema,
      outbox: true,
      createServices: ({ db }) => {
        const memberRepository = new MemberRepository(db);
        const tierRepository = new TierRepository(db);
        const tiers = new TierService(tierRepository);
        return {
          members: new MemberService(db, memberRepository, tiers),
          tiers,
          ledger: new LedgerService(db, tiers),
          apiKeys: new ApiKeyService(db),
          memberRepository,
          ledgerRepository: new LedgerRepository(db),
          tierRepository,
        };
      },
      createContext: (base, services) => ({ ...base, services, loaders: createLoaders(services, base.identity.tenant) }),
      internalRoutes: (router, services) => {
        ledgerRoutes(router, services);
        memberRoutes(router, services);
        apiKeyRoutes(router, services);
      },
      // SEED_DEMO=true (set by `npm start`) seeds the demo tenant once.
      onStart: async (services, { db, log, env }) => {
        if (env.SEED_DEMO === 'true') await seedDemo(db, services, log);
      },
    },
    process.env,
  ),
);
