import type { ExecutionResult } from 'graphql';
import { Gauge, type Registry } from 'prom-client';
import type { BusConsumer, BusEvent, EventBus, Logger } from '@loyalty/kit';
import type { EventExecution, EventResolver } from './event-resolver';

export type EventField = 'pointsBalanceChanged' | 'tierChanged';
const FIELD_OF: Record<string, EventField> = { POINTS_BALANCE_CHANGED: 'pointsBalanceChanged', TIER_CHANGED: 'tierChanged' };

/** One live subscription: what it listens to, how to resolve its events, where results go. */
export interface Listener {
  tenant: string;
  field: EventField;
  /** null: every member of the tenant (the staff feed). */
  memberId: string | null;
  /** Identical documents, variables and identity scope share one execution per event. */
  key: string;
  execution: EventExecution;
  push(result: ExecutionResult): void;
}

/**
 * Fans bus events out to subscriptions. Listeners are indexed by tenant, so an event is only ever
 * matched against its own tenant's subscriptions. Each batch is resolved concurrently, one
 * execution per distinct (document, variables, identity scope) and event, and delivered in bus
 * order, which is ledger order per member.
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
    this.consumer = await this.bus.consume(await this.bus.head(), (events) => this.dispatch(events));
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

  private async dispatch(events: BusEvent[]): Promise<void> {
    const jobs: { listeners: Listener[]; result: Promise<ExecutionResult> }[] = [];
    for (const event of events) {
      const field = FIELD_OF[event.type];
      const candidates = field ? this.listeners.get(event.tenant) : undefined;
      if (!candidates) continue;
      const groups = new Map<string, Listener[]>();
      for (const listener of candidates) {
        if (listener.field !== field || (listener.memberId !== null && listener.memberId !== event.key)) continue;
        groups.set(listener.key, [...(groups.get(listener.key) ?? []), listener]);
      }
      for (const listeners of groups.values()) {
        const result = this.resolve(listeners[0]!.execution, event).catch((error: unknown) => {
          this.log.error({ err: error, position: event.position }, 'could not resolve an event');
          return { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] } as unknown as ExecutionResult;
        });
        jobs.push({ listeners, result });
      }
    }
    for (const job of jobs) {
      const result = await job.result;
      for (const listener of job.listeners) listener.push(result);
    }
  }

  connected(): boolean {
    return this.consumer?.connected() ?? false;
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
  }
}
