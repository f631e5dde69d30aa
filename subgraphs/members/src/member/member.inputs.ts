import { IsEmail, IsIn, IsOptional, IsUUID, Matches, MaxLength, MinLength } from 'class-validator';
import { Field, ID, InputType } from 'type-graphql';
import { JSONScalar } from '@loyalty/kit';
import { MemberStatus } from './member.type';

const COUNTRY = /^[A-Za-z]{2}$/;

@InputType()
export class EnrollMemberInput {
  @Field()
  @IsEmail({}, { message: 'must be a valid email address' })
  @MaxLength(254)
  email!: string;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MinLength(1)
  @MaxLength(200)
  name?: string | null;

  @Field(() => String, { nullable: true, description: 'ISO 3166-1 alpha-2' })
  @IsOptional()
  @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' })
  country?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MinLength(1)
  @MaxLength(100)
  externalId?: string | null;

  @Field(() => JSONScalar, { nullable: true })
  attributes?: Record<string, unknown> | null;

  // Its shape is checked by the service (normalizeReadableCode), which names the field.
  @Field(() => String, { nullable: true, description: "The referrer's referralCode (any case, dashes optional): links the new member to it" })
  referralCode?: string | null;
}

@InputType()
export class UpdateMemberInput {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @IsEmail({}, { message: 'must be a valid email address' })
  @MaxLength(254)
  email?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MinLength(1)
  @MaxLength(200)
  name?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' })
  country?: string | null;

  @Field(() => JSONScalar, { nullable: true })
  attributes?: Record<string, unknown> | null;

  @Field(() => MemberStatus, { nullable: true })
  @IsOptional()
  @IsIn([MemberStatus.ACTIVE, MemberStatus.SUSPENDED], { message: "status may be ACTIVE or SUSPENDED (erasure is eraseMember)" })
  status?: MemberStatus | null;
}

@InputType()
export class MemberFilter {
  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(254)
  email?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @MaxLength(100)
  externalId?: string | null;

  @Field(() => ID, { nullable: true })
  @IsOptional()
  @IsUUID('all', { message: 'must be a tier id' })
  tierId?: string | null;

  @Field(() => String, { nullable: true })
  @IsOptional()
  @Matches(COUNTRY, { message: 'must be an ISO 3166-1 alpha-2 code' })
  country?: string | null;

  // The lengths of the two search texts are checked by searchPatterns (member.search.ts).
  @Field(() => String, { nullable: true, description: 'members whose email starts with this, case-insensitive; 1 to 254 characters, % _ \\ match themselves' })
  emailPrefix?: string | null;

  @Field(() => String, { nullable: true, description: 'members whose name contains this, case-insensitive; 2 to 100 characters, % _ \\ match themselves' })
  nameContains?: string | null;

  @Field(() => MemberStatus, { nullable: true })
  status?: MemberStatus | null;

  @Field(() => ID, { nullable: true, description: 'members in this segment now (its conditions decide, as for memberCount)' })
  @IsOptional()
  @IsUUID('all', { message: 'must be a segment id' })
  segmentId?: string | null;
}

@InputType({ description: 'The consents to set; an omitted channel keeps its value.' })
export class ConsentInput {
  @Field(() => Boolean, { nullable: true, description: 'marketing by e-mail' })
  marketingEmail?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'marketing by SMS' })
  marketingSms?: boolean | null;

  @Field(() => Boolean, { nullable: true, description: 'marketing by push notification' })
  marketingPush?: boolean | null;
}
