import { Arg, Authorized, Ctx, ID, Int, Mutation, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { AnalyticsContext } from '../context';
import { WebhookEndpointInput } from './webhook.inputs';
import { DEFAULT_ROTATION_GRACE_SECONDS } from './webhook.service';
import { WebhookDelivery, WebhookDeliveryConnection, WebhookEndpoint, WebhookEndpointCreated } from './webhook.type';

@Resolver(() => WebhookEndpoint)
export class WebhookResolver {
  @Authorized(access['Query.webhookEndpoints'])
  @Query(() => [WebhookEndpoint], { description: "The tenant's webhook endpoints, newest first" })
  webhookEndpoints(@Ctx() { identity, services }: AnalyticsContext): Promise<WebhookEndpoint[]> {
    return services.webhooks.list(identity);
  }

  @Authorized(access['Query.webhookDeliveries'])
  @Query(() => WebhookDeliveryConnection, { description: "An endpoint's deliveries, newest first" })
  async webhookDeliveries(
    @Arg('endpointId', () => ID) endpointId: string,
    @Arg('first', () => Int, { nullable: true, defaultValue: 20 }) first: number | null,
    @Arg('after', () => String, { nullable: true }) after: string | null,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<WebhookDeliveryConnection> {
    return WebhookDeliveryConnection.from(await services.webhooks.deliveries(identity, endpointId, first ?? 20, after));
  }

  @Authorized(access['Mutation.createWebhookEndpoint'])
  @Mutation(() => WebhookEndpointCreated, { description: 'The signing secret is returned only here (and by rotateWebhookSecret)' })
  createWebhookEndpoint(@Arg('input', () => WebhookEndpointInput) input: WebhookEndpointInput, @Ctx() { identity, services }: AnalyticsContext): Promise<WebhookEndpointCreated> {
    return services.webhooks.create(identity, input);
  }

  @Authorized(access['Mutation.updateWebhookEndpoint'])
  @Mutation(() => WebhookEndpoint)
  updateWebhookEndpoint(
    @Arg('id', () => ID) id: string,
    @Arg('input', () => WebhookEndpointInput) input: WebhookEndpointInput,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<WebhookEndpoint> {
    return services.webhooks.update(identity, id, input);
  }

  @Authorized(access['Mutation.deleteWebhookEndpoint'])
  @Mutation(() => WebhookEndpoint, { description: 'Deletes the endpoint and its deliveries; nothing more is sent to it' })
  deleteWebhookEndpoint(@Arg('id', () => ID) id: string, @Ctx() { identity, services }: AnalyticsContext): Promise<WebhookEndpoint> {
    return services.webhooks.delete(identity, id);
  }

  @Authorized(access['Mutation.rotateWebhookSecret'])
  @Mutation(() => WebhookEndpointCreated, {
    description: 'A new signing secret, shown once; the previous one stays valid (deliveries carry both signatures) for previousSecretValidSeconds',
  })
  rotateWebhookSecret(
    @Arg('id', () => ID) id: string,
    @Arg('previousSecretValidSeconds', () => Int, { nullable: true, defaultValue: DEFAULT_ROTATION_GRACE_SECONDS }) previousSecretValidSeconds: number | null,
    @Ctx() { identity, services }: AnalyticsContext,
  ): Promise<WebhookEndpointCreated> {
    return services.webhooks.rotate(identity, id, previousSecretValidSeconds ?? DEFAULT_ROTATION_GRACE_SECONDS);
  }

  @Authorized(access['Mutation.redeliverWebhook'])
  @Mutation(() => WebhookDelivery, { description: 'Queues a delivery again, due now, with a fresh retry schedule (same event id)' })
  redeliverWebhook(@Arg('deliveryId', () => ID) deliveryId: string, @Ctx() { identity, services }: AnalyticsContext): Promise<WebhookDelivery> {
    return services.webhooks.redeliver(identity, deliveryId);
  }
}
