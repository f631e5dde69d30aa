import 'reflect-metadata';
import { main, parseEnv, repeatEvery, runSubgraph, subgraphEnv } from '@loyalty/kit';
import type { EntityManager } from 'typeorm';
import { z } from 'zod';
import { ApiKeyEntity } from './api-key/api-key.entity';
import { apiKeyRoutes } from './api-key/api-key.routes';
import { ApiKeyService } from './api-key/api-key.service';
import { createLoaders, type MembersContext, type Services } from './context';
import { LedgerEntryEntity, PointAccountEntity } from './ledger/ledger.entity';
import { LedgerRepository } from './ledger/ledger.repository';
import { ledgerRoutes } from './ledger/ledger.routes';
import { LedgerService } from './ledger/ledger.service';
import { LifecycleService } from './ledger/lifecycle.service';
import { MemberEntity } from './member/member.entity';
import { membersPrivacy } from './member/member.privacy';
import { MemberRepository } from './member/member.repository';
import { memberRoutes } from './member/member.routes';
import { MemberService } from './member/member.service';
import { MembersInitial1763800000001 } from './migrations/1763800000001-members-initial';
import { EarnDays1763800000002 } from './migrations/1763800000002-earn-days';
import { FinalRefusals1763800000003 } from './migrations/1763800000003-final-refusals';
import { Programs1763800000004 } from './migrations/1763800000004-programs';
import { ProgramRepository } from './program/program.repository';
import { ProgramService } from './program/program.service';
import { PointsLifecycle1763800000006 } from './migrations/1763800000006-points-lifecycle';
import { MemberSearch1763800000009 } from './migrations/1763800000009-member-search';
import { EntryCounts1763800000010 } from './migrations/1763800000010-entry-counts';
import { AllocationKeys1763800000011 } from './migrations/1763800000011-allocation-keys';
import { ApiKeyLifetime1763800000012 } from './migrations/1763800000012-api-key-lifetime';
import { Consents1763800000013 } from './migrations/1763800000013-consents';
import { AuditAndErasure1763800000014 } from './migrations/1763800000014-audit-and-erasure';
import { MemberSearchFilters1763800000015 } from './migrations/1763800000015-member-search-filters';
import { Segments1763800000017 } from './migrations/1763800000017-segments';
import { Transfers1763800000016 } from './migrations/1763800000016-transfers';
import { Referrals1763800000018 } from './migrations/1763800000018-referrals';
import { TierReview1763800000007 } from './migrations/1763800000007-tier-review';
import { SegmentEntity } from './segment/segment.entity';
import { SegmentRepository } from './segment/segment.repository';
import { segmentRoutes } from './segment/segment.routes';
import { SegmentService } from './segment/segment.service';
import { buildMembersSchema } from './schema';
import { seedDemo } from './seed';
import { TierEntity } from './tier/tier.entity';
import { TierReviewRepository } from './tier/tier-review.repository';
import { TierReviewService } from './tier/tier-review.service';
import { TierRepository } from './tier/tier.repository';
import { TierService } from './tier/tier.service';
import { TransferRepository } from './transfer/transfer.repository';
import { TransferService } from './transfer/transfer.service';

// Parsed once, before anything starts: a bad setting stops the process with every problem listed.
const config = parseEnv(
  subgraphEnv(4001, 'loyalty_members').extend({
    // SEED_DEMO=true (set by `npm start`) seeds the demo tenant once; any other value leaves it.
    SEED_DEMO: z
      .string()
      .optional()
      .transform((value) => value === 'true'),
    // How often this replica books due expiry and pending points and runs the tier review (0: never;
    // `runPointsMaintenance` still runs it on demand). Replicas may all run it: they take disjoint members.
    POINTS_MAINTENANCE_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
    // How often this replica sweeps segments (0: never): those with a condition on time or tiers are
    // recomputed, so time passing and tier reviews move members in and out then (segment.service.ts).
    SEGMENT_SWEEP_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  }),
  process.env,
);

main(() =>
  runSubgraph<Services, MembersContext>(
    {
      name: 'members',
      entities: [MemberEntity, TierEntity, LedgerEntryEntity, PointAccountEntity, ApiKeyEntity, SegmentEntity],
      migrations: [MembersInitial1763800000001, EarnDays1763800000002, FinalRefusals1763800000003, Programs1763800000004, PointsLifecycle1763800000006, TierReview1763800000007, MemberSearch1763800000009, EntryCounts1763800000010, AllocationKeys1763800000011, ApiKeyLifetime1763800000012, Consents1763800000013, AuditAndErasure1763800000014, MemberSearchFilters1763800000015, Transfers1763800000016, Segments1763800000017, Referrals1763800000018],
      buildSchema: buildMembersSchema,
      outbox: true,
      createServices: ({ db, log, audit }) => {
        const segments = new SegmentService(db, new SegmentRepository(db), audit, log);
        const memberRepository = new MemberRepository(db);
        const tierRepository = new TierRepository(db);
        const programs = new ProgramService(db, new ProgramRepository(db), audit);
        const policyOf = (tenant: string, manager?: EntityManager) => programs.policy(tenant, manager);
        const tierReviews = new TierReviewService(db, new TierReviewRepository(), tierRepository, policyOf, log);
        const tiers = new TierService(db, tierRepository, policyOf, tierReviews, audit);
        const ledgerRepository = new LedgerRepository(db);
        const members = new MemberService(db, memberRepository, tiers, audit, segments);
        const ledger = new LedgerService(
          db,
          ledgerRepository,
          tiers,
          (manager, tenant, now) => programs.creditTerms(manager, tenant, now),
          (manager, tenant, memberId) => segments.refreshMembers(manager, tenant, [memberId]),
        );
        return {
          members,
          tiers,
          ledger,
          lifecycle: new LifecycleService(ledger, members, tierReviews, db, audit),
          audit,
          apiKeys: new ApiKeyService(db, audit),
          programs,
          segments,
          transfers: new TransferService(ledger, new TransferRepository(), policyOf, audit),
          memberRepository,
          ledgerRepository,
          tierRepository,
        };
      },
      privacy: (_services, { db }) => membersPrivacy(db),
      createContext: (base, services) => ({ ...base, services, loaders: createLoaders(services, base.identity.tenant) }),
      internalRoutes: (router, services) => {
        ledgerRoutes(router, services);
        memberRoutes(router, services);
        apiKeyRoutes(router, services);
        segmentRoutes(router, services);
      },
      onStart: async (services, { db, log }) => {
        if (config.SEED_DEMO) await seedDemo(db, services, log);
        const jobs = [
          config.POINTS_MAINTENANCE_INTERVAL_MS > 0 && repeatEvery(config.POINTS_MAINTENANCE_INTERVAL_MS, () => services.lifecycle.maintain(null), log, 'points maintenance'),
          config.SEGMENT_SWEEP_INTERVAL_MS > 0 && repeatEvery(config.SEGMENT_SWEEP_INTERVAL_MS, () => services.segments.sweep(null), log, 'segment sweep'),
        ].filter((stop) => stop !== false);
        return async () => {
          await Promise.all(jobs.map((stop) => stop()));
        };
      },
    },
    config,
  ),
);
