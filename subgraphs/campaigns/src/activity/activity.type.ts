import { Directive, Field, ID, Int, ObjectType } from 'type-graphql';
import { Campaign } from '../campaign/campaign.type';
import { Member } from '../member/member.type';

/** The members subgraph's ledger entry: campaigns only knows its id. */
@ObjectType()
@Directive('@key(fields: "id", resolvable: false)')
export class PointsTransaction {
  @Field(() => ID)
  id!: string;
}

@ObjectType()
export class AppliedRule {
  @Field(() => Campaign)
  campaign!: Campaign;

  @Field(() => ID)
  ruleId!: string;

  @Field(() => Int)
  points!: number;
}

@ObjectType({ description: 'What an activity earned' })
export class EarnResult {
  @Field(() => Int, { description: '0 when no rule applies (not an error)' })
  pointsEarned!: number;

  @Field(() => Member)
  member!: Member;

  @Field(() => PointsTransaction, { nullable: true, description: 'null when pointsEarned is 0 (or while the credit is pending)' })
  transaction!: PointsTransaction | null;

  @Field(() => [AppliedRule])
  appliedRules!: AppliedRule[];
}
