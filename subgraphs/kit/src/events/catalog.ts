import { z } from 'zod';
import { ledgerTransaction } from '../ledger-api';

/**
 * Every event on the bus: its producer, its payload schema and the services that consume it. The
 * outbox refuses an event that does not match its schema (a producer bug fails the transaction that
 * made the change, loudly); consumers read payloads through these schemas too (see `readEvent`).
 * docs/architecture.md ("Events") is rendered from this table and a unit test keeps the two equal.
 *
 * Payload objects strip keys they do not name: what reaches the bus is exactly what is listed here.
 */

/** The services that produce or consume events. */
export type Service = 'members' | 'campaigns' | 'rewards' | 'analytics' | 'gateway' | 'webhooks' | 'erasure';

interface EventSpec {
  description: string;
  producer: Service;
  /** Who reads it; consumers' handler tables are typed by this list, so code and catalogue agree. */
  consumers: readonly Service[];
  payload: z.ZodObject;
  /** Its name for webhook subscribers (docs/integrations.md); an event without one is internal. */
  webhook?: string;
}

const id = z.guid();
const redemption = z.object({
  redemptionId: id,
  memberId: id,
  rewardId: id,
  pointsSpent: z.number().int().min(1),
  storeId: z.string().nullable(),
  channel: z.string().nullable(),
});

export const EVENT_CATALOG = {
  MEMBER_ENROLLED: {
    description: 'A member was enrolled.',
    producer: 'members',
    consumers: ['analytics', 'webhooks'],
    webhook: 'member.enrolled',
    payload: z.object({ memberId: id, country: z.string().nullable() }),
  },
  POINTS_BALANCE_CHANGED: {
    description: "A ledger entry moved a member's points (any entry type), or pending points became spendable.",
    producer: 'members',
    consumers: ['analytics', 'gateway', 'webhooks'],
    webhook: 'points.balance_changed',
    payload: z.object({
      memberId: id,
      balance: z.number().int().min(0),
      delta: z.number().int().describe('signed: what the spendable balance moved'),
      pendingDelta: z.number().int().default(0).describe("signed: what the member's pending points moved"),
      transaction: ledgerTransaction.describe('the ledger entry, as the internal ledger API returns it'),
    }),
  },
  TIER_CHANGED: {
    description: "A member's tier changed: an EARN credit upgraded it, or a tier review moved it up or down.",
    producer: 'members',
    consumers: ['gateway', 'webhooks'],
    webhook: 'tier.changed',
    payload: z.object({
      memberId: id,
      tierId: z.string().min(1).describe('"base": the built-in base tier (a tenant without an entry tier)'),
      previousTierId: z.string().min(1).nullable().describe('null: the member stood on the built-in base tier'),
    }),
  },
  POINTS_EXPIRING: {
    description: "A reminder: some of a member's points expire soon (once per lot and reminder day of the program).",
    producer: 'members',
    consumers: ['webhooks'],
    webhook: 'points.expiring',
    payload: z.object({
      memberId: id,
      lotId: id.describe('the credit lot whose points expire'),
      points: z.number().int().min(1).describe('its points still spendable'),
      expiresAt: z.iso.datetime(),
      daysBefore: z.number().int().min(1).describe("the program's reminder day that fell due"),
    }),
  },
  ACTIVITY_RECORDED: {
    description: "An activity (purchase, custom event, or a referrer's REFERRAL for a referred member's first purchase) was recorded, with the points its campaigns award.",
    producer: 'campaigns',
    consumers: ['analytics', 'webhooks'],
    webhook: 'activity.recorded',
    payload: z.object({
      activityId: id,
      memberId: id,
      type: z.enum(['PURCHASE', 'CUSTOM_EVENT', 'REFERRAL']),
      amount: z.number().nullable(),
      currency: z.string().nullable(),
      storeId: z.string().nullable(),
      eventName: z.string().nullable(),
      occurredAt: z.iso.datetime(),
      pointsEarned: z.number().int().min(0),
      awards: z.array(z.object({ campaignId: id, ruleId: id, points: z.number().int() })).describe('the points each campaign rule awarded'),
    }),
  },
  ORDER_RETURNED: {
    description: "A return of a purchase was settled: the points it took back, and each campaign rule's share of them.",
    producer: 'campaigns',
    consumers: ['analytics'],
    payload: z.object({
      returnId: id,
      activityId: id.describe('the PURCHASE activity of the order'),
      memberId: id,
      orderId: z.string(),
      amount: z.number().int().min(1).describe('the amount returned, minor units'),
      pointsReversed: z.number().int().min(0).describe('taken back from the member'),
      pointsUnrecovered: z.number().int().min(0).describe('already spent: the member keeps them'),
      reversals: z
        .array(z.object({ campaignId: id, ruleId: id, points: z.number().int().min(1) }))
        .describe("each campaign rule's share of `pointsReversed`, taken off its budget, cap and performance"),
    }),
  },
  REDEMPTION_COMPLETED: {
    description: 'A redemption was settled: its points are debited.',
    producer: 'rewards',
    consumers: ['analytics', 'webhooks'],
    webhook: 'redemption.completed',
    payload: redemption,
  },
  REDEMPTION_CANCELLED: {
    description: 'A completed redemption was cancelled: its points are refunded.',
    producer: 'rewards',
    consumers: ['analytics', 'webhooks'],
    webhook: 'redemption.cancelled',
    payload: redemption,
  },
  REDEMPTION_FULFILLED: {
    description: "A till took a completed redemption's code: the reward was handed over.",
    producer: 'rewards',
    consumers: ['webhooks'],
    webhook: 'redemption.fulfilled',
    payload: redemption,
  },
  MEMBER_ERASED: {
    description: "A member's personal data was erased on request: every subgraph removes what it holds and confirms.",
    producer: 'members',
    consumers: ['erasure', 'webhooks'],
    webhook: 'member.erased',
    payload: z.object({ memberId: id }),
  },
  CAMPAIGN_EXPERIMENT_CHANGED: {
    description: "A campaign's experiment (A/B test) was set, started, changed or ended: what analytics needs to assign members to its arms.",
    producer: 'campaigns',
    consumers: ['analytics'],
    payload: z.object({
      campaignId: id,
      experiment: z
        .object({
          holdoutPercent: z.number().int().min(0).max(100),
          variants: z.array(z.object({ key: z.string().min(1), weight: z.number().int().min(1) })).describe('empty: the one arm BASE'),
          startedAt: z.iso.datetime().nullable(),
          endedAt: z.iso.datetime().nullable(),
        })
        .nullable()
        .describe('null: the campaign runs no experiment any more'),
    }),
  },
  SEGMENT_ENTERED: {
    description: "A member entered a segment: its data, its activity or time came to meet the segment's conditions, or the conditions changed.",
    producer: 'members',
    consumers: ['webhooks'],
    webhook: 'segment.entered',
    payload: z.object({ segmentId: id, memberId: id }),
  },
  SEGMENT_LEFT: {
    description: "A member left a segment: it no longer meets the segment's conditions (a deleted segment is not left).",
    producer: 'members',
    consumers: ['webhooks'],
    webhook: 'segment.left',
    payload: z.object({ segmentId: id, memberId: id }),
  },
  CAMPAIGN_STATUS_CHANGED: {
    description: "A campaign's status was changed by staff.",
    producer: 'campaigns',
    consumers: [],
    payload: z.object({ campaignId: id, status: z.enum(['DRAFT', 'ACTIVE', 'PAUSED', 'ENDED']) }),
  },
} as const satisfies Record<string, EventSpec>;

type Catalog = typeof EVENT_CATALOG;
export type EventType = keyof Catalog;
export type EventPayload<T extends EventType> = z.infer<Catalog[T]['payload']>;

/** An event as producers hand it to the outbox. `key` orders events: per key, in the order written. */
export type LoyaltyEvent<T extends EventType = EventType> = {
  [K in T]: { type: K; tenant: string; key: string; payload: EventPayload<K> };
}[T];

/** The event types a service consumes, by the catalogue. */
export type ConsumedBy<S extends Service> = {
  [K in EventType]: S extends Catalog[K]['consumers'][number] ? K : never;
}[EventType];

export const EVENT_TYPES = Object.keys(EVENT_CATALOG) as EventType[];

export const isEventType = (type: string): type is EventType => Object.hasOwn(EVENT_CATALOG, type);

/** The event types webhook subscribers may receive: those with a `webhook` name. */
export type WebhookEventType = { [K in EventType]: Catalog[K] extends { webhook: string } ? K : never }[EventType];

/** Bus type → webhook name (`POINTS_BALANCE_CHANGED` → `points.balance_changed`), in catalogue order. */
export const WEBHOOK_NAMES = Object.fromEntries(
  EVENT_TYPES.flatMap((type) => {
    const spec: EventSpec = EVENT_CATALOG[type];
    return spec.webhook ? [[type, spec.webhook]] : [];
  }),
) as Record<WebhookEventType, string>;

/** A producer's event that does not match its schema: a bug of ours, never the client's. */
export class InvalidEventError extends Error {
  constructor(
    readonly type: string,
    readonly issues: readonly z.core.$ZodIssue[],
  ) {
    super(`Event ${type} does not match its schema: ${z.prettifyError(new z.ZodError([...issues]))}`);
    this.name = 'InvalidEventError';
  }
}

/** The event with its payload as the catalogue defines it; throws InvalidEventError if it does not match. */
export function checkEvent<E extends LoyaltyEvent>(event: E): E {
  if (!isEventType(event.type)) throw new InvalidEventError(event.type, []);
  const parsed = EVENT_CATALOG[event.type].payload.safeParse(event.payload);
  if (!parsed.success) throw new InvalidEventError(event.type, parsed.error.issues);
  return { ...event, payload: parsed.data };
}
