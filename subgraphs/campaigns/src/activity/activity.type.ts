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

@ObjectType({ description: 'What one rule of one campaign awarded an activity' })
export class AppliedRule {
  @Field(() => Campaign, { description: 'the campaign of the rule' })
  campaign!: Campaign;

  @Field(() => ID, { description: "the rule's id within the campaign" })
  ruleId!: string;

  @Field(() => Int, { description: 'points this rule awarded, after caps and budget' })
  points!: number;

  @Field({ description: "true when the campaign is exclusive: having awarded points, it stopped every campaign after it in stacking order" })
  exclusive!: boolean;
}

@ObjectType({ description: 'What an activity earned' })
export class EarnResult {
  @Field(() => Int, { description: '0 when no rule applies (not an error)' })
  pointsEarned!: number;

  @Field(() => Member)
  member!: Member;

  @Field(() => PointsTransaction, { nullable: true, description: 'null when pointsEarned is 0 (or while the credit is pending)' })
  transaction!: PointsTransaction | null;

  @Field(() => [AppliedRule], { description: 'the rules that awarded points, in stacking order (priority, higher first)' })
  appliedRules!: AppliedRule[];

  @Field(() => [Campaign], { description: 'campaigns that would have awarded points but an exclusive campaign of higher priority stopped' })
  excludedCampaigns!: Campaign[];
}
