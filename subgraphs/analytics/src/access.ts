import type { AccessTable } from '@loyalty/kit';

const READ_ANALYTICS = ['admin', 'marketer'] as const;
/** Webhooks reach outside the platform with every member's events: admin only. */
const WEBHOOKS = ['admin'] as const;

/**
 * Who may do what in the analytics subgraph: the one table read by the resolvers' `@Authorized`
 * gates. docs/api.md, Roles, is the same table for clients.
 */
export const access = {
  'Query.programStats': READ_ANALYTICS,
  'Query.topRewards': READ_ANALYTICS,
  'Query.redemptionsByStore': READ_ANALYTICS,
  'Query.pointsTimeline': READ_ANALYTICS,
  'Campaign.performance': READ_ANALYTICS,
  'Query.experimentReport': READ_ANALYTICS,
  'Query.auditLog': ['admin'],
  /** The member's own data, for the member too (GDPR Art. 15). */
  'Query.memberDataExport': ['admin', 'self'],
  'Query.webhookEndpoints': WEBHOOKS,
  'Query.webhookDeliveries': WEBHOOKS,
  'Mutation.createWebhookEndpoint': WEBHOOKS,
  'Mutation.updateWebhookEndpoint': WEBHOOKS,
  'Mutation.deleteWebhookEndpoint': WEBHOOKS,
  'Mutation.rotateWebhookSecret': WEBHOOKS,
  'Mutation.redeliverWebhook': WEBHOOKS,
} as const satisfies AccessTable;
