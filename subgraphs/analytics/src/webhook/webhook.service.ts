import { lookup } from 'node:dns/promises';
import type { DataSource, EntityManager } from 'typeorm';
import { BadInputError, NotFoundError, WEBHOOK_NAMES, parseId, pageOf, timeIdPage, type AuditLog, type Identity, type Page } from '@loyalty/kit';
import { refusedAddress, urlProblem } from './webhook.address';
import type { WebhookEndpointInput } from './webhook.inputs';
import type { WebhookRepository } from './webhook.repository';
import type { WebhookSecrets } from './webhook.secrets';
import { toDelivery, toEndpoint, type WebhookDelivery, type WebhookEndpoint, type WebhookEndpointCreated } from './webhook.type';

/** Every webhook event type subscribers may ask for, and `*` for all of them. */
export const WEBHOOK_TYPES: readonly string[] = Object.values(WEBHOOK_NAMES);
export const ALL_TYPES = '*';

/** How long the secret before a rotation stays valid by default: a day to deploy the new one. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 86_400;
const MAX_ROTATION_GRACE_SECONDS = 7 * 86_400;

export interface WebhookServiceOptions {
  production: boolean;
  /** Resolves a host name to its addresses (the real DNS; a test may give another). */
  resolve?: (host: string) => Promise<string[]>;
}

const resolveAll = async (host: string) => (await lookup(host, { all: true })).map((a) => a.address);

/**
 * The webhook API's use cases. Each mutation's writes run in one transaction, whose manager is at
 * hand for whatever else must commit with them.
 */
export class WebhookService {
  private readonly resolve: (host: string) => Promise<string[]>;

  constructor(
    private readonly db: DataSource,
    private readonly repository: WebhookRepository,
    private readonly secrets: WebhookSecrets,
    private readonly options: WebhookServiceOptions,
    private readonly audit: AuditLog,
  ) {
    this.resolve = options.resolve ?? resolveAll;
  }

  async create(identity: Identity, input: WebhookEndpointInput): Promise<WebhookEndpointCreated> {
    const change = await this.checked(input);
    const secret = this.secrets.generate();
    const row = await this.db.transaction(async (manager: EntityManager) => {
      const created = await this.repository.insertEndpoint(manager, { tenant: identity.tenant, ...change, secret: this.secrets.encrypt(secret) });
      await this.recorded(manager, identity, 'createWebhookEndpoint', created.id, toEndpoint(created));
      return created;
    });
    return { endpoint: toEndpoint(row), secret };
  }

  async update(identity: Identity, id: string, input: WebhookEndpointInput): Promise<WebhookEndpoint> {
    const endpointId = parseId(id, 'id');
    const change = await this.checked(input);
    const row = await this.db.transaction(async (manager: EntityManager) => {
      const updated = await this.repository.updateEndpoint(manager, identity.tenant, endpointId, change);
      if (updated) await this.recorded(manager, identity, 'updateWebhookEndpoint', endpointId, toEndpoint(updated));
      return updated;
    });
    if (!row) throw new NotFoundError('Webhook endpoint');
    return toEndpoint(row);
  }

  async delete(identity: Identity, id: string): Promise<WebhookEndpoint> {
    const endpointId = parseId(id, 'id');
    const row = await this.db.transaction(async (manager: EntityManager) => {
      const deleted = await this.repository.deleteEndpoint(manager, identity.tenant, endpointId);
      if (deleted) await this.recorded(manager, identity, 'deleteWebhookEndpoint', endpointId, null);
      return deleted;
    });
    if (!row) throw new NotFoundError('Webhook endpoint');
    return toEndpoint(row);
  }

  /** A new secret, shown once; the one it replaces keeps signing (beside it) for `graceSeconds`. */
  async rotate(identity: Identity, id: string, graceSeconds: number): Promise<WebhookEndpointCreated> {
    const endpointId = parseId(id, 'id');
    if (!Number.isInteger(graceSeconds) || graceSeconds < 0 || graceSeconds > MAX_ROTATION_GRACE_SECONDS) {
      throw new BadInputError('previousSecretValidSeconds', `previousSecretValidSeconds must be between 0 and ${MAX_ROTATION_GRACE_SECONDS}`);
    }
    const secret = this.secrets.generate();
    const row = await this.db.transaction(async (manager: EntityManager) => {
      const rotated = await this.repository.rotateSecret(manager, identity.tenant, endpointId, this.secrets.encrypt(secret), graceSeconds);
      // The secrets themselves are never in an entry.
      if (rotated) await this.recorded(manager, identity, 'rotateWebhookSecret', endpointId, { previousSecretExpiresAt: toEndpoint(rotated).previousSecretExpiresAt });
      return rotated;
    });
    if (!row) throw new NotFoundError('Webhook endpoint');
    return { endpoint: toEndpoint(row), secret };
  }

  async redeliver(identity: Identity, deliveryId: string): Promise<WebhookDelivery> {
    const id = parseId(deliveryId, 'deliveryId');
    const row = await this.db.transaction(async (manager: EntityManager) => {
      const queued = await this.repository.redeliver(manager, identity.tenant, id);
      if (queued) await this.audit.record(manager, identity, { action: 'redeliverWebhook', targetType: 'WebhookDelivery', targetId: id, after: { status: toDelivery(queued).status } });
      return queued;
    });
    if (!row) throw new NotFoundError('Webhook delivery', 'deliveryId');
    return toDelivery(row);
  }

  async list(identity: Identity): Promise<WebhookEndpoint[]> {
    return (await this.repository.listEndpoints(identity.tenant)).map(toEndpoint);
  }

  /** An endpoint's deliveries, newest first. */
  async deliveries(identity: Identity, endpointId: string, first: number, after: string | null | undefined): Promise<Page<WebhookDelivery>> {
    const id = parseId(endpointId, 'endpointId');
    if (!(await this.repository.findEndpoint(identity.tenant, id))) throw new NotFoundError('Webhook endpoint', 'endpointId');
    return timeIdPage(first, after, {
      read: async (size, before) => pageOf(await this.repository.deliveries(identity.tenant, id, size + 1, before), size),
      toNode: toDelivery,
      keyOf: (delivery) => [delivery.createdAt, delivery.id],
      count: () => this.repository.countDeliveries(identity.tenant, id),
    });
  }

  /** The input as stored, or BAD_USER_INPUT naming the field: the URL rules (SSRF) and known event types. */
  private recorded(manager: EntityManager, identity: Identity, action: string, endpointId: string, after: unknown): Promise<void> {
    return this.audit.record(manager, identity, { action, targetType: 'WebhookEndpoint', targetId: endpointId, after });
  }

  private async checked(input: WebhookEndpointInput): Promise<{ url: string; eventTypes: string[]; active: boolean }> {
    const problem = urlProblem(input.url, { production: this.options.production });
    if (problem) throw new BadInputError('url', problem);
    if (this.options.production) {
      const host = new URL(input.url).hostname.replace(/^\[|\]$/g, '');
      let addresses: string[];
      try {
        addresses = await this.resolve(host);
      } catch {
        throw new BadInputError('url', `url's host ${host} does not resolve`);
      }
      const refused = refusedAddress(addresses);
      if (refused) throw new BadInputError('url', refused);
    }
    const eventTypes = [...new Set(input.eventTypes)];
    const unknown = eventTypes.filter((type) => type !== ALL_TYPES && !WEBHOOK_TYPES.includes(type));
    if (unknown.length > 0) {
      throw new BadInputError('eventTypes', `unknown event types: ${unknown.join(', ')} (known: ${WEBHOOK_TYPES.join(', ')}, or ${ALL_TYPES})`);
    }
    return { url: input.url, eventTypes, active: input.active ?? true };
  }
}
