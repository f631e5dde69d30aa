import { Field, Int, ObjectType } from 'type-graphql';
import { PointsTransaction } from '../activity/activity.type';
import { Member } from '../member/member.type';

@ObjectType({ description: 'What a return took back' })
export class ReturnResult {
  @Field(() => Int, { description: "the return's points taken back: the order's pending points first, then the spendable balance" })
  pointsReversed!: number;

  @Field(() => Int, { description: 'the rest: already spent, the member keeps them (the balance never goes below 0)' })
  pointsUnrecovered!: number;

  @Field(() => PointsTransaction, { nullable: true, description: 'the REVERSAL entry; null when nothing was taken back' })
  transaction!: PointsTransaction | null;

  @Field(() => Member)
  member!: Member;
}
