import { createHash } from 'node:crypto';

/**
 * The fingerprint of a request's input, stored with its idempotency key: the same key with the
 * same input replays, with another input it is IDEMPOTENCY_CONFLICT. Order of `values` matters.
 */
export function requestFingerprint(values: readonly unknown[]): string {
  return createHash('sha256').update(JSON.stringify(values)).digest('hex');
}
