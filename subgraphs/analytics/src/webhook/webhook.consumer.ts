import type { DataSource } from 'typeorm';
import {
  EVENT_CATALOG,
  WEBHOOK_NAMES,
  eventReader,
  type BusConsumer,
  type BusEvent,
  type ConsumerPositions,
  type EventBus,
  type EventReaders,
  type Logger,
} from '@loyalty/kit';
import { webhookBody, webhookEventId } from './webhook.rule';
import type { QueuedEvent, WebhookRepository } from './webhook.repository';

export const CONSUMER = 'webhooks';
const BATCH = 2000;

/** Subscribers receive the whole payload, as the catalogue defines it: every type with a webhook name. */
const readers = {
  MEMBER_ENROLLED: EVENT_CATALOG.MEMBER_ENROLLED.payload,
  POINTS_BALANCE_CHANGED: EVENT_CATALOG.POINTS_BALANCE_CHANGED.payload,
  TIER_CHANGED: EVENT_CATALOG.TIER_CHANGED.payload,
  POINTS_EXPIRING: EVENT_CATALOG.POINTS_EXPIRING.payload,
  ACTIVITY_RECORDED: EVENT_CATALOG.ACTIVITY_RECORDED.payload,
  REDEMPTION_COMPLETED: EVENT_CATALOG.REDEMPTION_COMPLETED.payload,
  REDEMPTION_CANCELLED: EVENT_CATALOG.REDEMPTION_CANCELLED.payload,
  REDEMPTION_FULFILLED: EVENT_CATALOG.REDEMPTION_FULFILLED.payload,
  MEMBER_ERASED: EVENT_CATALOG.MEMBER_ERASED.payload,
  SEGMENT_ENTERED: EVENT_CATALOG.SEGMENT_ENTERED.payload,
  SEGMENT_LEFT: EVENT_CATALOG.SEGMENT_LEFT.payload,
} satisfies EventReaders<'webhooks'>;
const read = eventReader('webhooks', readers);

/**
 * Turns bus events into deliveries. A durable consumer with its own position (`webhooks` in
 * `consumer_positions`), reading only the types with a webhook name; each batch queues every
 * matching endpoint's delivery in one statement, in the transaction that moves the position, so a
 * crash, a replayed batch or a second replica queues each delivery once.
 *
 * An event whose payload does not match its schema is logged and not sent (a producer bug): unlike
 * the reports, stopping here would hold every tenant's webhooks back for one bad event.
 */
export class WebhookConsumer {
  private consumer?: BusConsumer;

  constructor(
    private readonly db: DataSource,
    private readonly repository: WebhookRepository,
    private readonly positions: ConsumerPositions,
    private readonly bus: EventBus,
    private readonly log: Logger,
    /** Called after a batch queued deliveries (the local dispatcher need not wait for its poll). */
    private readonly onQueued: () => void,
  ) {}

  async start(): Promise<void> {
    // A new installation starts at the head: endpoints receive what happens after they exist.
    await this.positions.register(CONSUMER, await this.bus.head());
    const from = await this.positions.position(CONSUMER);
    this.consumer = await this.bus.consume(from, (events) => this.apply(events), { batch: BATCH, types: Object.keys(readers) });
    this.log.info({ position: this.consumer.position() }, 'webhook consumer started');
  }

  position(): Promise<string> {
    return this.positions.position(CONSUMER);
  }

  async apply(events: BusEvent[]): Promise<void> {
    let queued = 0;
    await this.db.transaction(async (manager) => {
      const position = await this.positions.lock(manager, CONSUMER);
      const fresh = events.filter((event) => BigInt(event.position) > BigInt(position));
      if (fresh.length === 0) return;
      const tenants = await this.repository.tenantsWithEndpoints(manager, [...new Set(fresh.map((e) => e.tenant))]);
      const batch: QueuedEvent[] = [];
      for (const busEvent of fresh) {
        if (!tenants.has(busEvent.tenant)) continue;
        const result = read(busEvent);
        if (result.status === 'ignored') continue;
        if (result.status === 'invalid') {
          this.log.error({ err: result.error, position: busEvent.position }, 'webhooks skipped an event that does not match its schema');
          continue;
        }
        const { event } = result;
        const id = webhookEventId(event.source, event.sourceId);
        const type = WEBHOOK_NAMES[event.type];
        batch.push({
          tenant: event.tenant,
          eventId: id,
          type,
          key: event.key,
          position: event.position,
          occurredAt: event.occurredAt,
          body: webhookBody({ id, type, tenant: event.tenant, occurredAt: event.occurredAt, data: event.payload }),
        });
      }
      if (batch.length > 0) queued = await this.repository.queue(manager, batch);
      await this.positions.advance(manager, CONSUMER, fresh.at(-1)!.position);
    });
    if (queued > 0) this.onQueued();
  }

  async stop(): Promise<void> {
    await this.consumer?.close();
  }
}
