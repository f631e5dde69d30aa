import type { z } from 'zod';
import { EVENT_CATALOG, ledgerTransaction, type AccessRule, type ConsumedBy } from '@loyalty/kit/core';
import { access } from '@loyalty/members/access';

/**
 * An entity field of a payload type, as the event names it: the entity's type and, per key field
 * of that type, the payload field holding its value. The supergraph says which subgraph resolves
 * the entity and by which key; the gateway checks at start that this is the same key.
 */
interface EntityOf<P> {
  type: string;
  key: Record<string, keyof P & string>;
}

interface Subscription<E extends ConsumedBy<'gateway'>, S extends z.ZodObject> {
  /** The bus event that fires it (from the kit's event catalogue). */
  event: E;
  /**
   * What subscriptions read of its payload: the catalogue's schema, or fields picked from it. The
   * transaction goes to the subscriber as it is: which of its fields are needed is the subscriber's
   * selection, and the schema's non-null fields say so for that subscriber alone.
   */
  payload: S;
  /** Who may subscribe: the rule of the subgraph that declares the field (roles follow any member or the tenant, `self` a member token itself). */
  access: AccessRule;
  /** The member an event is about: a subscription's `memberId` argument keeps that member's events only. */
  member: (payload: z.infer<S>) => string;
  /** The payload type's own fields, from the event (`occurredAt` is every payload's, from the bus). */
  fields: (payload: z.infer<S>) => Record<string, unknown>;
  /** The payload type's entity fields: fetched by key from the subgraphs, with the subscriber's selection. */
  entities: Record<string, EntityOf<z.infer<S>>>;
}

const subscription = <E extends ConsumedBy<'gateway'>, S extends z.ZodObject>(entry: Subscription<E, S>) => entry;

/**
 * The subscription fields: one entry each, the one place a live update is declared. Adding one: the
 * field and its payload type in the members subgraph's schema (and its access rule), the event's
 * `gateway` consumer in the catalogue, then an entry here; the hub, the server and the event
 * resolver read everything else from it and from the supergraph.
 */
export const SUBSCRIPTIONS = {
  pointsBalanceChanged: subscription({
    event: 'POINTS_BALANCE_CHANGED',
    payload: EVENT_CATALOG.POINTS_BALANCE_CHANGED.payload
      .pick({ memberId: true, balance: true, delta: true })
      .extend({ transaction: ledgerTransaction.partial() }),
    access: access['Subscription.pointsBalanceChanged'],
    member: (p) => p.memberId,
    fields: (p) => ({ balance: p.balance, delta: p.delta, transaction: p.transaction }),
    entities: { member: { type: 'Member', key: { id: 'memberId' } } },
  }),
  tierChanged: subscription({
    event: 'TIER_CHANGED',
    payload: EVENT_CATALOG.TIER_CHANGED.payload,
    access: access['Subscription.tierChanged'],
    member: (p) => p.memberId,
    fields: () => ({}),
    entities: {
      member: { type: 'Member', key: { id: 'memberId' } },
      tier: { type: 'Tier', key: { id: 'tierId' } },
      // null: the member stood on the built-in base tier, and previousTier is null.
      previousTier: { type: 'Tier', key: { id: 'previousTierId' } },
    },
  }),
};

export type EventField = keyof typeof SUBSCRIPTIONS;
type Entries = typeof SUBSCRIPTIONS;
/** An entry whose payload and entity types are erased: what the generic code reads. */
export type AnySubscription = Subscription<ConsumedBy<'gateway'>, z.ZodObject>;

/** The readers of the events, by type, as `eventReader` takes them. */
export const EVENT_READERS = Object.fromEntries(Object.values(SUBSCRIPTIONS).map((s) => [s.event, s.payload])) as {
  [F in EventField as Entries[F]['event']]: Entries[F]['payload'];
};

/** The subscription field each event type fires. */
export const FIELD_OF = Object.fromEntries(Object.entries(SUBSCRIPTIONS).map(([field, s]) => [s.event, field])) as Record<ConsumedBy<'gateway'>, EventField>;

export const entryOf = (field: EventField): AnySubscription => SUBSCRIPTIONS[field];
