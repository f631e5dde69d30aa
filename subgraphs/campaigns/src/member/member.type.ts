import { Directive, Field, ID, ObjectType } from 'type-graphql';

/** The members subgraph's Member, extended here with the campaigns it may earn in. */
@ObjectType()
@Directive('@key(fields: "id")')
export class Member {
  @Field(() => ID)
  id!: string;
}
