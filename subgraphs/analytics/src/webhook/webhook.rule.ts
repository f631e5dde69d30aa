import { createHmac, timingSafeEqual } from 'node:crypto';
import { v5 as uuidv5 } from 'uuid';

/**
 * The pure rules of webhook delivery: when to try again, what the signature is, and the event id.
 * No I/O here; test/unit/webhook-rule.test.ts runs them without a database.
 */

/** How long failed deliveries are retried, as an operator sets it (WEBHOOK_RETRY_* in main.ts). */
export interface RetrySchedule {
  /** The nominal delay before the first retry; each later one doubles, up to `maxDelayMs`. */
  baseMs: number;
  maxDelayMs: number;
  /** Retrying stops (DEAD) at the first failure this long after the delivery's first attempt. */
  retryForMs: number;
}

/** First retry within 10 s, then doubling to at most an hour, for 24 hours. */
export const DEFAULT_SCHEDULE: RetrySchedule = { baseMs: 10_000, maxDelayMs: 3_600_000, retryForMs: 86_400_000 };

/** The nominal delay after the `failures`-th failure (1-based): base × 2^(failures − 1), capped. */
export function nominalDelay(schedule: RetrySchedule, failures: number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 40);
  return Math.min(schedule.maxDelayMs, schedule.baseMs * 2 ** exponent);
}

/**
 * The delay after a failure, with "equal jitter": between half the nominal delay and all of it, so
 * endpoints that failed together do not all come back at once, and the first retry still comes
 * within `baseMs`. `random` is in [0, 1).
 */
export function retryDelay(schedule: RetrySchedule, failures: number, random: number): number {
  const nominal = nominalDelay(schedule, failures);
  return Math.floor(nominal / 2 + (nominal / 2) * random);
}

export type AttemptOutcome = { status: 'DELIVERED' } | { status: 'FAILED'; nextAttemptAt: Date } | { status: 'DEAD' };

/**
 * What follows an attempt: a 2xx is DELIVERED; any other answer, or none, is retried after the
 * jittered delay, unless the delivery has been retried for `retryForMs` since `retryFrom`: DEAD.
 */
export function afterAttempt(
  schedule: RetrySchedule,
  attempt: { statusCode: number | null; failures: number; retryFrom: Date; now: Date },
  random: number,
): AttemptOutcome {
  if (attempt.statusCode !== null && attempt.statusCode >= 200 && attempt.statusCode < 300) return { status: 'DELIVERED' };
  const failures = attempt.failures + 1;
  if (attempt.now.getTime() - attempt.retryFrom.getTime() >= schedule.retryForMs) return { status: 'DEAD' };
  return { status: 'FAILED', nextAttemptAt: new Date(attempt.now.getTime() + retryDelay(schedule, failures, random)) };
}

/** The nominal schedule as a table (docs/integrations.md): attempt, delay range, time since queued. */
export function scheduleTable(schedule: RetrySchedule): { retry: number; minMs: number; maxMs: number; elapsedMaxMs: number }[] {
  const rows = [];
  let elapsedMaxMs = 0;
  for (let failures = 1; elapsedMaxMs < schedule.retryForMs; failures++) {
    const maxMs = nominalDelay(schedule, failures);
    elapsedMaxMs += maxMs;
    rows.push({ retry: failures, minMs: Math.floor(maxMs / 2), maxMs, elapsedMaxMs });
  }
  return rows;
}

/** The namespace of webhook event ids (a fixed random UUID: ids are ours, not a DNS or URL name). */
const EVENT_ID_NAMESPACE = '6f1d3f0e-3b7c-4a51-9a54-0c2f5e7d8b21';

/** The event's id for subscribers: a name-based UUID (v5) of its bus identity, the same wherever it is computed. */
export function webhookEventId(source: string, sourceId: string): string {
  return uuidv5(`${source}\u0000${sourceId}`, EVENT_ID_NAMESPACE);
}

/** What a delivery POSTs: `{ id, type, tenant, occurredAt, data }` (type: the webhook name). */
export function webhookBody(event: { id: string; type: string; tenant: string; occurredAt: string; data: unknown }): string {
  return JSON.stringify({ id: event.id, type: event.type, tenant: event.tenant, occurredAt: event.occurredAt, data: event.data });
}

/** hex HMAC-SHA256(secret, "<t>.<body>"). */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * The `x-loyalty-signature` header: `t=<unix seconds>,v1=<hex>`, one `v1` per valid secret (the
 * current one first, then the previous one while a rotation's grace period lasts).
 */
export function signatureHeader(secrets: readonly string[], timestamp: number, body: string): string {
  return [`t=${timestamp}`, ...secrets.map((secret) => `v1=${signatureOf(secret, timestamp, body)}`)].join(',');
}

/**
 * What a receiver does (docs/integrations.md has the same as a snippet): the header's `t` within
 * `toleranceSeconds` of now, and one of its `v1` values equal to the HMAC, compared in constant time.
 */
export function verifySignature(secret: string, header: string, body: string, nowSeconds: number, toleranceSeconds = 300): boolean {
  const parts = header.split(',').map((part) => part.trim().split('='));
  const t = Number(parts.find(([name]) => name === 't')?.[1]);
  if (!Number.isInteger(t) || Math.abs(nowSeconds - t) > toleranceSeconds) return false;
  const expected = Buffer.from(signatureOf(secret, t, body), 'hex');
  return parts
    .filter(([name, value]) => name === 'v1' && value !== undefined && /^[0-9a-f]{64}$/.test(value))
    .some(([, value]) => timingSafeEqual(Buffer.from(value!, 'hex'), expected));
}
