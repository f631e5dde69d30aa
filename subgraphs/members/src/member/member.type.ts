import { Directive, Field, ID, Int, ObjectType, registerEnumType } from 'type-graphql';
import { ConnectionType, JSONScalar } from '@loyalty/kit';
import type { MemberEntity } from './member.entity';

export enum MemberStatus {
  ACTIVE = 'ACTIVE',
  SUSPENDED = 'SUSPENDED',
  ERASED = 'ERASED',
}
registerEnumType(MemberStatus, {
  name: 'MemberStatus',
  valuesConfig: {
    ACTIVE: { description: 'earns and redeems' },
    SUSPENDED: { description: 'earns nothing and cannot redeem until reactivated' },
    ERASED: { description: 'personal data erased on request (eraseMember): cannot earn, redeem or sign in, for good' },
  },
});

@ObjectType({ description: "The progress of a member's erasure: every subgraph confirms it removed what it held." })
export class MemberErasure {
  @Field()
  requestedAt!: Date;

  @Field(() => Date, { nullable: true, description: 'When the last subgraph confirmed; null while some have not' })
  completedAt!: Date | null;

  @Field(() => [String], { description: 'The subgraphs that confirmed, e.g. members, campaigns, rewards, analytics' })
  confirmedBy!: string[];
}

@ObjectType({ description: 'What a member agreed to be contacted by for marketing. Every channel is off until given.' })
export class Consents {
  @Field({ description: 'marketing by e-mail' })
  marketingEmail!: boolean;

  @Field({ description: 'marketing by SMS' })
  marketingSms!: boolean;

  @Field({ description: 'marketing by push notification' })
  marketingPush!: boolean;

  @Field(() => Date, { nullable: true, description: 'When a consent was last set; null: never asked' })
  updatedAt!: Date | null;
}

@ObjectType({ description: 'A member of a loyalty program.' })
@Directive('@key(fields: "id")')
export class Member {
  @Field(() => ID)
  id!: string;

  @Field({ description: 'empty once the member is erased' })
  email!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2' })
  country!: string | null;

  @Field(() => String, { nullable: true, description: "The id in the brand's CRM" })
  externalId!: string | null;

  @Field(() => JSONScalar)
  attributes!: Record<string, unknown>;

  @Field(() => MemberStatus)
  status!: MemberStatus;

  @Field()
  enrolledAt!: Date;

  @Field(() => Consents)
  consents!: Consents;

  @Field({ description: 'The code this member gives friends to enrol with (EnrollMemberInput.referralCode), e.g. "K7QM-9XR2"' })
  referralCode!: string;

  /** Not exposed: resolved into `tier` by the tier loader. */
  tierId!: string | null;
  /** Not exposed: `tierProgress.retainedUntil`. */
  tierRetainedUntil!: Date | null;
  tenant!: string;
}

export const toMember = (entity: MemberEntity): Member => ({
  id: entity.id,
  email: entity.email ?? '',
  name: entity.name,
  country: entity.country,
  externalId: entity.externalId,
  attributes: entity.attributes,
  status: MemberStatus[entity.status],
  enrolledAt: new Date(entity.enrolledAt),
  consents: {
    marketingEmail: entity.consentMarketingEmail,
    marketingSms: entity.consentMarketingSms,
    marketingPush: entity.consentMarketingPush,
    updatedAt: entity.consentsUpdatedAt ? new Date(entity.consentsUpdatedAt) : null,
  },
  referralCode: entity.referralCode,
  tierId: entity.tierId,
  tierRetainedUntil: entity.tierRetainedUntil ? new Date(entity.tierRetainedUntil) : null,
  tenant: entity.tenant,
});

@ObjectType()
export class PointsAccount {
  @Field(() => Int, { description: 'spendable now' })
  balance!: number;

  @Field(() => Int, { description: 'earned, not yet spendable' })
  pending!: number;

  @Field(() => Int)
  lifetimeEarned!: number;

  memberId!: string;
}

export const MemberConnection = ConnectionType('Member', Member);
export type MemberConnection = InstanceType<typeof MemberConnection>;
