import { Directive, Field, ID, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType } from '@loyalty/kit';
import type { CampaignEntity } from './campaign.entity';

export enum CampaignStatus {
  DRAFT = 'DRAFT',
  ACTIVE = 'ACTIVE',
  PAUSED = 'PAUSED',
  ENDED = 'ENDED',
}
registerEnumType(CampaignStatus, { name: 'CampaignStatus' });

@ObjectType({ description: 'A marketing campaign: when and how members earn points.' })
@Directive('@key(fields: "id")')
export class Campaign {
  @Field(() => ID)
  id!: string;

  @Field()
  name!: string;

  @Field(() => String, { nullable: true })
  description!: string | null;

  @Field(() => CampaignStatus)
  status!: CampaignStatus;

  @Field(() => Date, { nullable: true })
  startsAt!: Date | null;

  @Field(() => Date, { nullable: true })
  endsAt!: Date | null;

  @Field({ description: 'IANA zone for happy hours, default "UTC"' })
  timeZone!: string;

  createdAt!: Date;
}

/** A campaign past its end date shows ENDED whatever its stored status. */
export const toCampaign = (entity: CampaignEntity, now = new Date()): Campaign => ({
  id: entity.id,
  name: entity.name,
  description: entity.description,
  status: entity.endsAt && entity.endsAt <= now ? CampaignStatus.ENDED : CampaignStatus[entity.status],
  startsAt: entity.startsAt,
  endsAt: entity.endsAt,
  timeZone: entity.timeZone,
  createdAt: entity.createdAt,
});

export const CampaignConnection = ConnectionType('Campaign', Campaign);
export type CampaignConnection = InstanceType<typeof CampaignConnection>;
