import type { AccessTable } from '@loyalty/kit';

/** Staff and systems that read how campaigns are run (budgets, eligibility). */
const READ_CAMPAIGNS = ['admin', 'marketer', 'agent', 'integration'] as const;
const MANAGE_CAMPAIGNS = ['admin', 'marketer'] as const;

/**
 * Who may do what in the campaigns subgraph: the one table read by the resolvers' `@Authorized`
 * gates, the field checks and the reference resolvers. `self` is a member token acting on its own
 * member; docs/api.md, Roles, is the same table for clients.
 */
export const access = {
  'Query.campaigns': READ_CAMPAIGNS,
  'Query.campaign': READ_CAMPAIGNS,
  /** Anyone else (a member) reads null: it sees the campaigns it can earn in, not how they are run. */
  'Campaign.budget': READ_CAMPAIGNS,
  'Campaign.eligibility': READ_CAMPAIGNS,
  /** A member learns neither that it is tested nor in which arm. */
  'Campaign.experiment': READ_CAMPAIGNS,
  'Member.experimentArm': READ_CAMPAIGNS,
  /** A Campaign resolved by reference for another subgraph's field; null for anyone else. */
  '_entities.Campaign': READ_CAMPAIGNS,
  'Member.eligibleCampaigns': [...READ_CAMPAIGNS, 'self'],
  'Mutation.createCampaign': MANAGE_CAMPAIGNS,
  'Mutation.updateCampaign': MANAGE_CAMPAIGNS,
  'Mutation.activateCampaign': MANAGE_CAMPAIGNS,
  'Mutation.pauseCampaign': MANAGE_CAMPAIGNS,
  'Mutation.promoteVariant': MANAGE_CAMPAIGNS,
  'Mutation.recordActivity': ['integration', 'agent', 'admin', 'activities:write'],
  /** Whoever may record an activity may ask what it would earn. */
  'Query.previewActivity': ['integration', 'agent', 'admin', 'activities:write'],
  'Query.simulateCampaign': MANAGE_CAMPAIGNS,
  /** Whoever records purchases records their returns. */
  'Mutation.recordReturn': ['integration', 'agent', 'admin', 'activities:write'],
} as const satisfies AccessTable;
