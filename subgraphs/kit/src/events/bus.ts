/** An event as producers hand it to the outbox. `key` orders events: per key, in the order written. */
export interface OutgoingEvent {
  type: string;
  tenant: string;
  key: string;
  payload: Record<string, unknown>;
}

/** An event on the bus, with the source's identity (for exactly-once) and the bus position (to resume). */
export interface BusEvent extends OutgoingEvent {
  position: string;
  source: string;
  sourceId: string;
  occurredAt: string;
}

export interface PublishedEvent extends OutgoingEvent {
  source: string;
  sourceId: string;
  occurredAt: string;
}

/**
 * The event bus. Producers publish through their outbox relay; consumers read from a position and
 * resume from the last one they processed. Publishing the same (source, sourceId) twice stores it
 * once, so relays may retry freely. The default implementation needs only PostgreSQL; a broker
 * (NATS JetStream, Kafka) can implement the same interface.
 */
export interface EventBus {
  publish(events: PublishedEvent[]): Promise<void>;
  /** Events after `position` (exclusive, '0' for the start), oldest first. */
  read(after: string, limit: number): Promise<BusEvent[]>;
  /** The position of the newest event (where a live consumer starts). */
  head(): Promise<string>;
  /**
   * Delivers every event after `from`, in order, batch by batch, and keeps delivering new ones.
   * A batch is delivered again only if `onEvents` throws. Survives lost connections: it resumes
   * from the last delivered position, so nothing is skipped.
   */
  consume(from: string, onEvents: (events: BusEvent[]) => Promise<void>): Promise<BusConsumer>;
  close(): Promise<void>;
}

export interface BusConsumer {
  /** The last position delivered. */
  position(): string;
  /** Whether the wake-up connection is up (delivery falls back to polling while it is not). */
  connected(): boolean;
  close(): Promise<void>;
}
