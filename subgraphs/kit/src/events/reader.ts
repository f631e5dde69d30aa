import type { z } from 'zod';
import type { BusEvent } from './bus';
import { InvalidEventError, type ConsumedBy, type Service } from './catalog';

/**
 * What a consumer reads of each event type the catalogue says it consumes: a schema of the fields
 * it uses, picked from the catalogue's (a tolerant reader: a producer may add fields, and a field a
 * consumer does not read can never stop it). The mapped type makes the table name exactly the
 * catalogue's types for that consumer.
 */
export type EventReaders<S extends Service> = { [K in ConsumedBy<S>]: z.ZodType };

/** A bus event of one of the types in `R`, its payload as that type's reader parsed it. */
export type ReadEvent<R> = {
  [K in keyof R & string]: Omit<BusEvent, 'type' | 'payload'> & { type: K; payload: R[K] extends z.ZodType ? z.infer<R[K]> : never };
}[keyof R & string];

export type ReadResult<R> =
  | { status: 'read'; event: ReadEvent<R> }
  /** A type this consumer does not consume (or one it does not know yet): not for it. */
  | { status: 'ignored' }
  /** A type it consumes whose payload does not match: the consumer decides (skip, or stop). */
  | { status: 'invalid'; error: InvalidEventError };

/** Reads bus events through a consumer's readers. */
export function eventReader<S extends Service, R extends EventReaders<S>>(_consumer: S, readers: R): (event: BusEvent) => ReadResult<R> {
  return (event) => {
    if (!Object.hasOwn(readers, event.type)) return { status: 'ignored' };
    const reader = readers[event.type as keyof R] as z.ZodType;
    const parsed = reader.safeParse(event.payload);
    if (!parsed.success) return { status: 'invalid', error: new InvalidEventError(event.type, parsed.error.issues) };
    return { status: 'read', event: { ...event, payload: parsed.data } as ReadEvent<R> };
  };
}
