import type { GraphQLSchema } from 'graphql';
import { buildFederatedSchema, requireMemberAccess } from '@loyalty/kit';
import { access } from './access';
import { ApiKeyResolver } from './api-key/api-key.resolver';
import type { MembersContext } from './context';
import { PointsBalanceChanged, SUBSCRIPTION_SDL, TierChanged } from './ledger/events.type';
import { LedgerResolver } from './ledger/ledger.resolver';
import { toTransaction } from './ledger/transaction.type';
import { MemberResolver, PointsAccountResolver } from './member/member.resolver';
import { ProgramResolver } from './program/program.resolver';
import { SegmentResolver } from './segment/segment.resolver';
import { TierResolver } from './tier/tier.resolver';
import { TransferResolver } from './transfer/transfer.resolver';

/** The members subgraph schema. Needs no database: `print-schema` runs it offline. */
export function buildMembersSchema(): Promise<GraphQLSchema> {
  return buildFederatedSchema({
    resolvers: [MemberResolver, PointsAccountResolver, TierResolver, ProgramResolver, LedgerResolver, TransferResolver, ApiKeyResolver, SegmentResolver],
    orphanedTypes: [PointsBalanceChanged, TierChanged],
    extraTypeDefs: SUBSCRIPTION_SDL,
    references: {
      Member: {
        // Batched: the gateway sends every representation of a fetch in one _entities call.
        __resolveReference: (ref: { id: string }, { identity, services, loaders }: MembersContext) =>
          services.members.get(identity, loaders, ref.id),
      },
      Tier: {
        __resolveReference: (ref: { id: string }, { services, loaders }: MembersContext) => services.tiers.byId(loaders, ref.id),
      },
      PointsTransaction: {
        __resolveReference: async (ref: { id: string }, { identity, loaders }: MembersContext) => {
          const entry = await loaders.entry.load(ref.id);
          if (!entry) return null;
          requireMemberAccess(identity, entry.memberId, access['_entities.PointsTransaction']);
          return toTransaction(entry);
        },
      },
    },
  });
}

