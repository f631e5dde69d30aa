import type { LoyaltyEvent } from './catalog';

/** What the bus carries for any event: the payload is whatever the producer wrote. */
export interface EventEnvelope {
  type: string;
  tenant: string;
  key: string;
  payload: unknown;
}

/** An event as producers hand it to the outbox: one of the catalogue's (see catalog.ts). */
export type OutgoingEvent = LoyaltyEvent;

export type PublishedEvent<E extends EventEnvelope = EventEnvelope> = E & {
  source: string;
  sourceId: string;
  occurredAt: string;
};

/** An event on the bus, with the source's identity (for exactly-once) and the bus position (to resume). */
export type BusEvent<E extends EventEnvelope = EventEnvelope> = PublishedEvent<E> & { position: string };

/**
 * The event bus. Producers publish through their outbox relay; consumers read from a position and
 * resume from the last one they processed. Publishing the same (source, sourceId) twice stores it
 * once, so relays may retry freely. The default implementation needs only PostgreSQL; a broker
 * (NATS JetStream, Kafka) can implement the same interface. The bus stores envelopes as written;
 * consumers read payloads through the catalogue (`eventReader`), never by casting them.
 */
export interface EventBus<E extends EventEnvelope = EventEnvelope> {
  publish(events: PublishedEvent<E>[]): Promise<void>;
  /** Events after `position` (exclusive, '0' for the start), oldest first. */
  read(after: string, limit: number): Promise<BusEvent<E>[]>;
  /** The position of the newest event (where a live consumer starts). */
  head(): Promise<string>;
  /**
   * Delivers every event after `from`, in order, batch by batch, and keeps delivering new ones.
   * A batch is delivered again only if `onEvents` throws. Survives lost connections: it resumes
   * from the last delivered position, so nothing is skipped.
   */
  consume(from: string, onEvents: (events: BusEvent<E>[]) => Promise<void>, options?: ConsumeOptions): Promise<BusConsumer>;
  close(): Promise<void>;
}

export interface ConsumeOptions {
  /** At most this many events per `onEvents` call (a consumer that writes per batch wants more). */
  batch?: number;
  /** How often to look for events when no wake-up arrives. */
  pollMs?: number;
  /**
   * Only events of these types reach `onEvents` (a consumer of one rare event need not read them
   * all); the position still moves past the others, so `position()` is where reading resumes.
   */
  types?: readonly string[];
}

export interface BusConsumer {
  /** The last position delivered. */
  position(): string;
  /** Whether the wake-up connection is up (delivery falls back to polling while it is not). */
  connected(): boolean;
  close(): Promise<void>;
}
