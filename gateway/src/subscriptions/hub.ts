import { GraphQLError, type ExecutionResult } from 'graphql';
import { Gauge, type Registry } from 'prom-client';
import {
  eventReader,
  formatError,
  isExpected,
  type BusConsumer,
  type BusEvent,
  type EventBus,
  type Logger,
  type ReadEvent,
} from '@loyalty/kit/core';
import type { EventExecution, EventResolver } from './event-resolver';
import { EVENT_READERS, FIELD_OF, entryOf, type EventField } from './table';

/** What subscriptions read of each event: the payload schemas of the subscription table. */
const read = eventReader('gateway', EVENT_READERS);

/** An event as subscriptions see it. */
export type GatewayEvent = ReadEvent<typeof EVENT_READERS>;

/** One live subscription: what it listens to, how to resolve its events, where results go. */
export interface Listener {
  tenant: string;
  field: EventField;
  /** null: every member of the tenant (the staff feed). */
  memberId: string | null;
  /** Identical documents, variables and identity scope share one execution per event. */
  key: string;
  execution: EventExecution;
  /**
   * Takes the result of the next event while it is still being resolved; the listener hands results
   * out in push order, so each subscriber gets its events in bus order whatever settles first.
   */
  push(result: Promise<ExecutionResult>): void;
}

/**
 * Fans bus events out to subscriptions. Listeners are indexed by tenant, so an event is only ever
 * matched against its own tenant's subscriptions. Events are resolved concurrently, one execution
 * per distinct (document, variables, identity scope) and event, and each listener receives its
 * results in bus order, which is ledger order per member. Dispatch never waits for a resolution: a
 * subgraph slow for one selection delays only the subscribers of that selection, never the bus or
 * anyone else (each listener's backlog, unresolved events included, is bounded by its buffer).
 */
export class SubscriptionHub {
  private readonly listeners = new Map<string, Set<Listener>>();
  private consumer?: BusConsumer;
  private readonly gauge: Gauge;

  constructor(
    private readonly bus: EventBus,
    private readonly resolve: EventResolver,
    private readonly log: Logger,
    registry: Registry,
  ) {
    this.gauge = new Gauge({ name: 'subscriptions_active', help: 'Live GraphQL subscriptions on this gateway', registers: [registry] });
    const connected: Gauge = new Gauge({
      name: 'event_bus_listener_connected',
      help: '1 while the event bus wake-up connection is up',
      registers: [registry],
      collect: () => connected.set(this.connected() ? 1 : 0),
    });
  }

  /** Starts at the bus head: subscribers receive what happens after they subscribe. */
  async start(): Promise<void> {
    this.consumer = await this.bus.consume(await this.bus.head(), async (events) => this.dispatch(events));
  }

  get size(): number {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }

  add(listener: Listener): () => void {
    const set = this.listeners.get(listener.tenant) ?? new Set<Listener>();
    set.add(listener);
    this.listeners.set(listener.tenant, set);
    this.gauge.set(this.size);
    return () => {
      set.delete(listener);
      if (set.size === 0) this.listeners.delete(listener.tenant);
      this.gauge.set(this.size);
    };
  }

  private dispatch(events: BusEvent[]): void {
    for (const busEvent of events) {
      const candidates = this.listeners.get(busEvent.tenant);
      if (!candidates) continue;
      const result = read(busEvent);
      if (result.status === 'ignored') continue;
      if (result.status === 'invalid') {
        // Nothing can be shown for it; the bus and every other event go on.
        this.log.error({ err: result.error, position: busEvent.position }, 'skipped an event that does not match its schema');
        continue;
      }
      const { event } = result;
      const field = FIELD_OF[event.type];
      const member = entryOf(field).member(event.payload);
      const groups = new Map<string, Listener[]>();
      for (const listener of candidates) {
        if (listener.field !== field || (listener.memberId !== null && listener.memberId !== member)) continue;
        const group = groups.get(listener.key);
        if (group) group.push(listener);
        else groups.set(listener.key, [listener]);
      }
      for (const listeners of groups.values()) {
        const result = this.resolve(listeners[0]!.execution, event).then(
          (resolved) => this.forClients(resolved, event),
          (error: unknown) => {
            this.log.error({ err: error, position: event.position }, 'could not resolve an event');
            return { data: null, errors: [new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } })] };
          },
        );
        for (const listener of listeners) listener.push(result);
      }
    }
  }

  /**
   * Errors as a client may see them (formatError), and as GraphQLError instances: graphql-ws
   * serialises each with toJSON(). An event that fails for a subscriber is an error payload for
   * that event only; the subscription goes on.
   */
  private forClients(result: ExecutionResult, event: GatewayEvent): ExecutionResult {
    if (!result.errors?.length) return result;
    return {
      ...result,
      errors: result.errors.map((error) => {
        if (!isExpected(error)) this.log.error({ err: error.originalError ?? error, position: event.position, path: error.path }, 'unexpected error resolving an event');
        const formatted = formatError(error.toJSON());
        return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
      }),
    };
  }

  connected(): boolean {
    return this.consumer?.connected() ?? false;
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
  }
}
