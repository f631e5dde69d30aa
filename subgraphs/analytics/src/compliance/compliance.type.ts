import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { IsOptional, MaxLength } from 'class-validator';
import { ConnectionType, JSONScalar } from '@loyalty/kit';

@ObjectType({ description: 'One staff or API-key mutation, as the subgraph that made the change recorded it in the same transaction.' })
export class AuditEntry {
  @Field(() => ID)
  id!: string;

  @Field()
  at!: Date;

  @Field({ description: 'the token `sub`, or `apikey:<id>`' })
  actor!: string;

  @Field(() => [String], { description: "the caller's roles; an API key's scopes as `scope:<name>`" })
  roles!: string[];

  @Field({ description: 'the mutation, e.g. adjustPoints' })
  action!: string;

  @Field({ description: 'what it changed: Member, Campaign, Reward, Redemption, Activity, Return, Tier, Program, ApiKey, WebhookEndpoint' })
  targetType!: string;

  @Field(() => ID, { nullable: true })
  targetId!: string | null;

  @Field(() => JSONScalar, { nullable: true, description: 'the target before the change (personal fields removed once the member is erased)' })
  before!: unknown;

  @Field(() => JSONScalar, { nullable: true, description: 'the target after the change' })
  after!: unknown;

  @Field(() => String, { nullable: true, description: 'the x-request-id of the request that made it' })
  requestId!: string | null;

  @Field({ description: 'the subgraph that recorded it' })
  service!: string;
}

export const AuditEntryConnection = ConnectionType('AuditEntry', AuditEntry);
export type AuditEntryConnection = InstanceType<typeof AuditEntryConnection>;

@InputType({ description: 'Every field given must match; `from` inclusive, `to` exclusive.' })
export class AuditFilter {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  action?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  targetType?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @MaxLength(200)
  targetId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(300)
  actor?: string | null;

  @Field(() => Date, { nullable: true })
  from?: Date | null;

  @Field(() => Date, { nullable: true })
  to?: Date | null;
}
