import { ArrayMaxSize, ArrayMinSize, IsIn, MaxLength, MinLength } from 'class-validator';
import { Field, InputType } from 'type-graphql';

export const API_KEY_SCOPES = ['catalog:read'] as const;

@InputType()
export class ApiKeyInput {
  @Field()
  @MinLength(1)
  @MaxLength(100)
  name!: string;

  @Field(() => [String], { description: 'known scope: "catalog:read"' })
  @ArrayMinSize(1)
  @ArrayMaxSize(10)
  @IsIn(API_KEY_SCOPES, { each: true, message: `each scope must be one of: ${API_KEY_SCOPES.join(', ')}` })
  scopes!: string[];
}
