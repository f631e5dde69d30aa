import 'reflect-metadata';
import { main, parseEnv, runSubgraph, subgraphEnv } from '@loyalty/kit';
import { z } from 'zod';
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
import { FinalRefusals1763800000003 } from './migrations/1763800000003-final-refusals';
import { Programs1763800000004 } from './migrations/1763800000004-programs';
import { ProgramRepository } from './program/program.repository';
import { ProgramService } from './program/program.service';
import { buildMembersSchema } from './schema';
import { seedDemo } from './seed';
import { TierEntity } from './tier/tier.entity';
import { TierRepository } from './tier/tier.repository';
import { TierService } from './tier/tier.service';

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(
  subgraphEnv(4001, 'loyalty_members').extend({
    // SEED_DEMO=true (set by `npm start`) seeds the demo tenant once; any other value leaves it.
    SEED_DEMO: z
      .string()
      .optional()
      .transform((value) => value === 'true'),
  }),
  process.env,
);

main(() =>
  runSubgraph<Services, MembersContext>(
    {
      name: 'members',
      entities: [MemberEntity, TierEntity, LedgerEntryEntity, PointAccountEntity, ApiKeyEntity],
      migrations: [MembersInitial1763800000001, EarnDays1763800000002, FinalRefusals1763800000003, Programs1763800000004],
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
          programs: new ProgramService(db, new ProgramRepository(db)),
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
      onStart: async (services, { db, log }) => {
        if (config.SEED_DEMO) await seedDemo(db, services, log);
      },
    },
    config,
  ),
);
