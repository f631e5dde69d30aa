import { Field, InputType, Int, ObjectType } from 'type-graphql';

@ObjectType({ description: "Headline numbers of a tenant's program" })
export class ProgramStats {
  @Field(() => Int) members!: number;
  @Field(() => Int) activeMembers!: number;
  @Field(() => Int) pointsIssued!: number;
  @Field(() => Int) pointsRedeemed!: number;
  @Field(() => Int) pointsExpired!: number;
  @Field(() => Int) pointsOutstanding!: number;
  @Field(() => Int) redemptions!: number;
  @Field(() => Int, { description: 'minor units' }) purchaseRevenue!: number;
}

@InputType()
export class DateRangeInput {
  @Field(() => Date, { nullable: true })
  from?: Date | null;

  @Field(() => Date, { nullable: true })
  to?: Date | null;
}
