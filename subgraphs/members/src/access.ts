import type { AccessTable } from '@loyalty/kit/core';

/** Staff and systems that read any member of their tenant. */
const READ_ANY_MEMBER = ['admin', 'marketer', 'agent', 'integration', 'members:read'] as const;
/** Staff who follow one member's events, or every member's of their tenant. */
const FOLLOW_ANY_MEMBER = ['admin', 'marketer', 'agent'] as const;

/**
 * Who may do what in the members subgraph: the one table read by the resolvers' `@Authorized`
 * gates, the services' member checks, the reference resolvers, and the gateway's subscription
 * checks (the gateway imports this file as `@loyalty/members/access`, so it must stay free of
 * runtime imports). `self` is a member token acting on its own member; docs/api.md, Roles, is the
 * same table for clients.
 */
export const access = {
  /** Also `me`, and a Member resolved by reference from another subgraph. */
  'Query.member': [...READ_ANY_MEMBER, 'self'],
  'Query.members': READ_ANY_MEMBER,
  'Query.tiers': ['admin', 'marketer', 'agent', 'integration', 'member', 'members:read'],
  'Query.program': ['admin', 'marketer', 'agent'],
  'Query.pointsLiability': ['admin', 'marketer', 'agent'],
  'Mutation.enrollMember': ['admin', 'integration'],
  'Mutation.updateMember': ['admin', 'agent', 'integration'],
  'Mutation.updateConsents': ['admin', 'agent', 'integration', 'self'],
  'Mutation.eraseMember': ['admin'],
  'Mutation.adjustPoints': ['admin', 'agent'],
  /** `self`: a member token sends its own points (fromMemberId), never another member's. */
  'Mutation.transferPoints': ['admin', 'agent', 'self'],
  'Mutation.activatePendingPoints': ['admin', 'agent', 'integration'],
  'Mutation.runPointsMaintenance': ['admin'],
  'Mutation.upsertTier': ['admin'],
  'Mutation.updateProgram': ['admin'],
  'Mutation.createApiKey': ['admin'],
  'Mutation.revokeApiKey': ['admin'],
  'Query.apiKeys': ['admin'],
  'Query.segments': ['admin', 'marketer'],
  'Query.segment': ['admin', 'marketer'],
  'Mutation.upsertSegment': ['admin', 'marketer'],
  'Mutation.deleteSegment': ['admin', 'marketer'],
  /** Who sees a member's segments; for anyone else (the member itself) the list is empty. */
  'Member.segments': ['admin', 'marketer', 'agent', 'integration', 'members:read'],
  /** A transaction resolved by reference (e.g. `EarnResult.transaction`). */
  '_entities.PointsTransaction': [...READ_ANY_MEMBER, 'activities:write', 'self'],
  /** The roles follow one member or the whole tenant (memberId omitted); a member token only itself. */
  'Subscription.pointsBalanceChanged': [...FOLLOW_ANY_MEMBER, 'self'],
  'Subscription.tierChanged': [...FOLLOW_ANY_MEMBER, 'self'],
} as const satisfies AccessTable;
