import { Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '@loyalty/kit';
import type { DeliveryRow, EndpointRow } from './webhook.repository';

export enum WebhookDeliveryStatus {
  PENDING = 'PENDING',
  DELIVERED = 'DELIVERED',
  FAILED = 'FAILED',
  DEAD = 'DEAD',
}
registerEnumType(WebhookDeliveryStatus, {
  name: 'WebhookDeliveryStatus',
  valuesConfig: {
    PENDING: { description: 'queued, not tried yet (or queued again)' },
    DELIVERED: { description: 'the endpoint answered 2xx' },
    FAILED: { description: 'the last attempt failed; it is retried at nextAttemptAt' },
    DEAD: { description: 'retried for the whole schedule without a 2xx; redeliverWebhook queues it again' },
  },
});

@ObjectType({ description: 'Where a tenant receives events. Its signing secret is shown once (create, rotate).' })
export class WebhookEndpoint {
  @Field(() => ID)
  id!: string;

  @Field()
  url!: string;

  @Field(() => [String], { description: 'webhook event types (`points.balance_changed`, …), or `*` for all' })
  eventTypes!: string[];

  @Field({ description: 'an inactive endpoint is sent nothing and queues nothing' })
  active!: boolean;

  @Field()
  createdAt!: Date;

  @Field(() => Date, { nullable: true, description: 'until when deliveries are also signed with the secret before the last rotation' })
  previousSecretExpiresAt!: Date | null;
}

@ObjectType()
export class WebhookEndpointCreated {
  @Field(() => WebhookEndpoint)
  endpoint!: WebhookEndpoint;

  @Field({ description: 'The signing secret (HMAC-SHA256 key). Shown only here: store it with the receiver.' })
  secret!: string;
}

@ObjectType({ description: 'One event for one endpoint, and how sending it went' })
export class WebhookDelivery {
  @Field(() => ID)
  id!: string;

  @Field(() => ID, { description: 'the event id (`x-loyalty-event-id`, the body’s `id`): the same on every attempt and redelivery' })
  eventId!: string;

  @Field({ description: 'the webhook event type, e.g. `points.balance_changed`' })
  eventType!: string;

  @Field(() => WebhookDeliveryStatus)
  status!: WebhookDeliveryStatus;

  @Field(() => Int)
  attempts!: number;

  @Field(() => Int, { nullable: true, description: 'the HTTP status of the last answer; null: none (timeout, refused connection)' })
  lastStatusCode!: number | null;

  @Field(() => String, { nullable: true })
  lastError!: string | null;

  @Field(() => Date, { nullable: true, description: 'when it is tried next; null once DELIVERED or DEAD' })
  nextAttemptAt!: Date | null;

  @Field(() => Date, { nullable: true })
  deliveredAt!: Date | null;

  @Field()
  createdAt!: Date;
}

export const WebhookDeliveryConnection = ConnectionType('WebhookDelivery', WebhookDelivery);
export type WebhookDeliveryConnection = InstanceType<typeof WebhookDeliveryConnection>;

export const toEndpoint = (row: EndpointRow): WebhookEndpoint => ({
  id: row.id,
  url: row.url,
  eventTypes: row.event_types,
  active: row.active,
  createdAt: new Date(row.created_at),
  previousSecretExpiresAt: row.previous_secret_expires_at && new Date(row.previous_secret_expires_at) > new Date() ? new Date(row.previous_secret_expires_at) : null,
});

export const toDelivery = (row: DeliveryRow): WebhookDelivery => ({
  id: row.id,
  eventId: row.event_id,
  eventType: row.event_type,
  status: row.status as WebhookDeliveryStatus,
  attempts: row.attempts,
  lastStatusCode: row.last_status_code,
  lastError: row.last_error,
  nextAttemptAt: row.status === 'PENDING' || row.status === 'FAILED' ? (row.next_attempt_at ? new Date(row.next_attempt_at) : null) : null,
  deliveredAt: row.delivered_at ? new Date(row.delivered_at) : null,
  createdAt: new Date(row.created_at),
});
