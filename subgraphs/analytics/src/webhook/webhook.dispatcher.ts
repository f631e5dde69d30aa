import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { Agent, request } from 'undici';
import type { Logger } from '@loyalty/kit';
import { publicOnlyLookup, urlProblem } from './webhook.address';
import type { AttemptResult, ClaimedDelivery, WebhookRepository } from './webhook.repository';
import { afterAttempt, signatureHeader, type RetrySchedule } from './webhook.rule';
import type { WebhookSecrets } from './webhook.secrets';

export interface DispatcherOptions {
  schedule: RetrySchedule;
  /** No answer within this is a failed attempt. */
  timeoutMs: number;
  /** Deliveries in flight per endpoint, across every replica. */
  perEndpoint: number;
  /** The same, for an endpoint with a FAILED delivery (it failed lately and has not answered since). */
  perFailingEndpoint: number;
  /** Deliveries in flight in this replica, over all endpoints. */
  capacity: number;
  /** How often an idle dispatcher looks for due deliveries (another replica's, or retries coming due). */
  pollMs: number;
  /** How long a claim holds a delivery; after it, a delivery whose dispatcher died is claimed again. */
  leaseMs: number;
  /** NODE_ENV=production: only public addresses, checked again at every connection. */
  production: boolean;
}

const MAX_ERROR_LENGTH = 500;

/**
 * Sends due deliveries. Any number of replicas run one: each claims deliveries in PostgreSQL
 * (`WebhookRepository.claim`), so none is sent by two at once, and records the outcomes in
 * batches. A slow or dead endpoint holds at most `perEndpoint` requests for at most `timeoutMs`
 * each; the claim gives every other endpoint its own share meanwhile.
 */
export class WebhookDispatcher {
  /** Names this process's claims (`lease_owner`): host, pid and a random part. */
  readonly owner = `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`;
  private readonly agent: Agent;
  private inFlight = 0;
  private claiming: Promise<void> | undefined;
  private again = false;
  private results: AttemptResult[] = [];
  private flushing: Promise<void> | undefined;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  /** Aborts requests in flight at shutdown: recorded as failed attempts, retried by whichever replica is up. */
  private readonly stopping = new AbortController();
  private readonly sending = new Set<Promise<void>>();

  constructor(
    private readonly repository: WebhookRepository,
    private readonly secrets: WebhookSecrets,
    private readonly options: DispatcherOptions,
    private readonly log: Logger,
  ) {
    // No bound on connections per origin: endpoints sharing a host must not queue behind each
    // other; `capacity` and `perEndpoint` bound what is in flight.
    this.agent = new Agent({
      keepAliveTimeout: 30_000,
      connect: { timeout: options.timeoutMs, ...(options.production ? { lookup: publicOnlyLookup } : {}) },
    });
  }

  start(): void {
    this.timer = setInterval(() => this.wake(), this.options.pollMs);
    this.wake();
  }

  /** Looks for due deliveries now (new ones were queued, or capacity came free). */
  wake(): void {
    if (this.stopped) return;
    if (this.claiming) {
      this.again = true;
      return;
    }
    this.claiming = this.claimLoop()
      .catch((error: unknown) => this.log.warn({ err: error }, 'webhook claim failed; will retry'))
      .finally(() => {
        this.claiming = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  private async claimLoop(): Promise<void> {
    while (!this.stopped) {
      const free = this.options.capacity - this.inFlight;
      if (free <= 0) return;
      const claimed = await this.repository.claim(this.owner, free, this.options.perEndpoint, this.options.perFailingEndpoint, this.options.leaseMs);
      for (const delivery of claimed) {
        this.inFlight++;
        const sent: Promise<void> = this.send(delivery)
          .then((result) => {
            this.inFlight--;
            return this.record(result);
          })
          .finally(() => this.sending.delete(sent));
        this.sending.add(sent);
      }
      if (claimed.length < free) return;
    }
  }

  private async send(delivery: ClaimedDelivery): Promise<AttemptResult> {
    const at = new Date();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      // Checked at every attempt: an IP literal never goes through the lookup.
      const problem = urlProblem(delivery.url, { production: this.options.production });
      if (problem) throw new Error(`refused: ${problem}`);
      const secrets = [this.secrets.decrypt(delivery.secret)];
      if (delivery.previous_secret && delivery.previous_secret_expires_at && new Date(delivery.previous_secret_expires_at) > at) {
        secrets.push(this.secrets.decrypt(delivery.previous_secret));
      }
      const timestamp = Math.floor(at.getTime() / 1000);
      const response = await request(delivery.url, {
        method: 'POST',
        dispatcher: this.agent,
        headers: {
          'content-type': 'application/json',
          'user-agent': 'loyalty-webhooks/1',
          'x-loyalty-event-id': delivery.event_id,
          'x-loyalty-signature': signatureHeader(secrets, timestamp, delivery.body),
        },
        body: delivery.body,
        headersTimeout: this.options.timeoutMs,
        bodyTimeout: this.options.timeoutMs,
        signal: AbortSignal.any([AbortSignal.timeout(this.options.timeoutMs), this.stopping.signal]),
      });
      statusCode = response.statusCode;
      // The answer's body is not read: drained (up to a bound), so the connection can be reused.
      await response.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      if (statusCode < 200 || statusCode >= 300) error = `HTTP ${statusCode}`;
    } catch (cause) {
      error = describe(cause, this.options.timeoutMs);
    }
    const outcome = afterAttempt(this.options.schedule, { statusCode, failures: delivery.failures, retryFrom: new Date(delivery.retry_from), now: new Date() }, Math.random());
    return {
      id: delivery.id,
      attempt: delivery.attempts,
      status: outcome.status,
      statusCode,
      error: outcome.status === 'DELIVERED' ? null : error,
      nextAttemptAt: outcome.status === 'FAILED' ? outcome.nextAttemptAt : null,
      at,
    };
  }

  /** Results are written in batches: one statement for whatever finished while the last one ran. */
  private record(result: AttemptResult): Promise<void> {
    this.results.push(result);
    if (!this.flushing) this.flushing = this.flush();
    return this.flushing;
  }

  private async flush(): Promise<void> {
    try {
      while (this.results.length > 0) {
        const batch = this.results.splice(0, 1000);
        try {
          await this.repository.complete(batch);
        } catch (error) {
          // The leases run out and the deliveries are tried again: at least once, never lost.
          this.log.warn({ err: error, deliveries: batch.length }, 'recording webhook attempts failed');
        }
      }
    } finally {
      this.flushing = undefined;
    }
    this.wake();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.claiming;
    this.stopping.abort(new Error('the dispatcher stopped'));
    await Promise.allSettled([...this.sending]);
    await this.flushing;
    await this.agent.close();
  }
}

function describe(error: unknown, timeoutMs: number): string {
  const err = error as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.code === 'UND_ERR_HEADERS_TIMEOUT' || err.code === 'UND_ERR_BODY_TIMEOUT' || err.code === 'UND_ERR_CONNECT_TIMEOUT') {
    return `no answer within ${timeoutMs} ms`;
  }
  const message = [err.code, err.message ?? String(error)].filter(Boolean).join(': ');
  return message.slice(0, MAX_ERROR_LENGTH);
}
