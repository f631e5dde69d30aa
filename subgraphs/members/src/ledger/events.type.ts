import { Field, Int, ObjectType } from 'type-graphql';
import { Member } from '../member/member.type';
import { Tier } from '../tier/tier.type';
import { PointsTransaction } from './transaction.type';

/**
 * The events of the Subscription root. The gateway delivers them from the event bus and resolves
 * their fields through the supergraph like any query: `member` may select fields of every subgraph.
 */
@ObjectType({ description: "A change of a member's balance" })
export class PointsBalanceChanged {
  @Field(() => Member, { description: 'any Member field, from any subgraph, may be selected' })
  member!: Member;

  @Field(() => Int)
  balance!: number;

  @Field(() => Int)
  delta!: number;

  @Field(() => PointsTransaction)
  transaction!: PointsTransaction;

  @Field()
  occurredAt!: Date;
}

@ObjectType({ description: "A change of a member's tier" })
export class TierChanged {
  @Field(() => Member)
  member!: Member;

  @Field(() => Tier, { nullable: true })
  previousTier!: Tier | null;

  @Field(() => Tier)
  tier!: Tier;

  @Field()
  occurredAt!: Date;
}

export const SUBSCRIPTION_SDL = `
type Subscription {
  """
  Every change of a balance, in ledger order per member. A member token follows its own member
  (memberId optional; another member's id is FORBIDDEN); admin, marketer and agent follow one
  member, or every member of their tenant when memberId is omitted.
  """
  pointsBalanceChanged(memberId: ID): PointsBalanceChanged!

  """Every tier change (upgrades happen in the crediting transaction). Same rules as pointsBalanceChanged."""
  tierChanged(memberId: ID): TierChanged!
}
`;
