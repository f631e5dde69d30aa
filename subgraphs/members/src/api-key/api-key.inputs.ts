import { ArrayMaxSize, ArrayMinSize, IsIn, MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';
import { SCOPES } from '@loyalty/kit';

@InputType()
export class ApiKeyInput {
  @Field({ description: 'What the key is for, shown in the list of keys' })
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Field(() => [String], {
    description:
      'What the key may do: "catalog:read" (rewards), "members:read" (members, their points and tiers), ' +
      '"activities:write" (recordActivity, recordReturn), "redemptions:write" (redeemReward and the redemptions it made)',
  })
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsIn(SCOPES, { each: true, message: `each scope must be one of: ${SCOPES.join(', ')}` })
  scopes!: string[];

  @Field(() => Date, { nullable: true, description: 'When the key stops working (in the future); omitted: valid until revoked' })
  expiresAt?: Date | null;
}
