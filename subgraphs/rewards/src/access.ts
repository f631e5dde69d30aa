import type { AccessTable } from '@loyalty/kit';

/** The catalog is readable by every role of the tenant and by API keys with `catalog:read`. */
const READ_CATALOG = ['admin', 'marketer', 'agent', 'integration', 'member', 'catalog:read'] as const;
const MANAGE_CATALOG = ['admin', 'marketer'] as const;
/** Staff and systems that read any member's redemptions. */
const READ_REDEMPTIONS = ['admin', 'marketer', 'agent', 'integration'] as const;
/** Keys that redeem (a till, a partner shop) read the redemptions they make, and their rewards. */
const REDEEMING_KEYS = 'redemptions:write';

/**
 * Who may do what in the rewards subgraph: the one table read by the resolvers' `@Authorized`
 * gates, the services' member checks and the reference resolvers. `self` is a member token acting
 * on its own member; docs/api.md, Roles, is the same table for clients.
 */
export const access = {
  'Query.rewards': READ_CATALOG,
  'Query.reward': READ_CATALOG,
  /** Who sees rewards that cannot be redeemed today (inactive, outside their window); anyone else gets `activeOnly`. */
  'Reward.unavailable': ['admin', 'marketer', 'agent', 'integration'],
  /** A Reward resolved by reference for another subgraph's field; null for anyone else. */
  '_entities.Reward': READ_CATALOG,
  'Mutation.createReward': MANAGE_CATALOG,
  'Mutation.updateReward': MANAGE_CATALOG,
  'Mutation.addRewardCodes': MANAGE_CATALOG,
  /** How many codes of a reward's pool are free: for those who import them. */
  'Reward.codesAvailable': MANAGE_CATALOG,
  'Mutation.redeemReward': ['admin', 'agent', 'integration', REDEEMING_KEYS, 'self'],
  'Mutation.cancelRedemption': ['admin', 'agent'],
  /** A till looks up and takes a code. */
  'Query.redemptionByCode': ['admin', 'agent', 'integration', REDEEMING_KEYS],
  'Mutation.fulfilRedemption': ['admin', 'agent', 'integration', REDEEMING_KEYS],
  'Query.redemption': [...READ_REDEMPTIONS, REDEEMING_KEYS, 'self'],
  '_entities.Redemption': [...READ_REDEMPTIONS, REDEEMING_KEYS, 'self'],
  'Redemption.reward': [...READ_CATALOG, REDEEMING_KEYS],
  'Member.redemptions': [...READ_REDEMPTIONS, 'self'],
  'Member.availableRewards': [...READ_REDEMPTIONS, 'self'],
} as const satisfies AccessTable;
