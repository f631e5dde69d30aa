import { Arg, Authorized, Ctx, Mutation, Query, Resolver } from 'type-graphql';
import { access } from '../access';
import type { MembersContext } from '../context';
import { ProgramInput } from './program.inputs';
import { Program, toProgram } from './program.type';

@Resolver(() => Program)
export class ProgramResolver {
  @Authorized(access['Query.program'])
  @Query(() => Program, { description: "The tenant's program policy (the defaults when it never set one)" })
  async program(@Ctx() { identity, services }: MembersContext): Promise<Program> {
    return toProgram(await services.programs.policy(identity.tenant));
  }

  @Authorized(access['Mutation.updateProgram'])
  @Mutation(() => Program, { description: 'Changes the program policy: the parts given replace the current ones, the rest stays. Every change is logged.' })
  async updateProgram(
    @Arg('input', () => ProgramInput, { description: 'The parts to replace' }) input: ProgramInput,
    @Ctx() { identity, services }: MembersContext,
  ): Promise<Program> {
    return toProgram(await services.programs.update(identity, input));
  }
}
