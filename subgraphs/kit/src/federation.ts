import { buildSubgraphSchema, printSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { printSchemaWithDirectives } from '@graphql-tools/utils';
import { parse, type GraphQLSchema } from 'graphql';
import { buildSchema, createResolversMap, type AuthChecker, type NonEmptyArray } from 'type-graphql';
import { hasRole, type Holding } from './auth';
import { ForbiddenError } from './errors';
import { DateTimeScalar } from './scalars';
import type { RequestContext } from './server';

const FEDERATION_LINK =
  'extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key", "@shareable", "@inaccessible", "@external", "@requires", "@provides"])';

/** `@Authorized(...)` on a field or operation: FORBIDDEN with the roles named, never type-graphql's generic error. */
const authChecker: AuthChecker<RequestContext> = ({ context }, roles) => {
  if (hasRole(context.identity, roles as Holding[])) return true;
  throw new ForbiddenError(`Requires one of the roles: ${roles.join(', ')}`);
};

export interface FederatedSchemaOptions {
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  resolvers: NonEmptyArray<Function>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  orphanedTypes?: Function[];
  /**
   * SDL added as is: the Subscription root, which the gateway executes from the event bus (the
   * subgraph declares the contract and owns the types; it never executes subscriptions itself).
   */
  extraTypeDefs?: string;
  /** `__resolveReference` per entity type: type-graphql never generates these. */
  references?: GraphQLResolverMap<RequestContext>;
}

/**
 * Builds a Federation 2 subgraph schema from type-graphql classes: type-graphql builds and
 * validates the types, the SDL is printed with its directives under the federation @link, and
 * @apollo/subgraph adds `_entities`/`_service` with our reference resolvers.
 */
export async function buildFederatedSchema(options: FederatedSchemaOptions): Promise<GraphQLSchema> {
  const schema = await buildSchema({
    resolvers: options.resolvers,
    orphanedTypes: options.orphanedTypes,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    validate: { forbidUnknownValues: false, stopAtFirstError: true },
    authChecker,
    skipCheck: true,
  });
  const typeDefs = parse(`${FEDERATION_LINK}\n${printSchemaWithDirectives(schema)}\n${options.extraTypeDefs ?? ''}`);
  const resolvers = createResolversMap(schema) as GraphQLResolverMap<RequestContext>;
  for (const [typeName, reference] of Object.entries(options.references ?? {})) {
    resolvers[typeName] = { ...(resolvers[typeName] as object), ...reference } as GraphQLResolverMap<RequestContext>[string];
  }
  return buildSubgraphSchema([{ typeDefs, resolvers }]);
}

/** The SDL a subgraph contributes to the supergraph (committed under schema/). */
export function printSubgraphSdl(schema: GraphQLSchema): string {
  return `${printSubgraphSchema(schema).trim()}\n`;
}
