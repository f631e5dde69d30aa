import { ArrayMaxSize, ArrayMinSize, MaxLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

@InputType()
export class WebhookEndpointInput {
  @Field({ description: 'http(s), at most 2,048 characters; in production https and a public address only' })
  // The service names the rule broken (length, scheme, address); this only bounds what is parsed.
  @MaxLength(4096)
  url!: string;

  @Field(() => [String], { description: 'webhook event types to send (`points.balance_changed`, `member.enrolled`, …), or `*` for all' })
  @ArrayMinSize(1)
  @ArrayMaxSize(50)
  eventTypes!: string[];

  @Field({ nullable: true, defaultValue: true })
  active?: boolean;
}
