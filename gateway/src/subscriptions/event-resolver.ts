import {
  GraphQLError,
  Kind,
  execute,
  print,
  visit,
  type DocumentNode,
  type ExecutionResult,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type SelectionNode,
} from 'graphql';
import { DomainError, type Identity } from '@loyalty/kit/core';
import type { GatewayEvent } from './hub';

/** Runs a query through the gateway, exactly as an HTTP request with this identity would. */
export type RunQuery = (query: string, variables: Record<string, unknown>, identity: Identity) => Promise<ExecutionResult>;

export interface EventExecution {
  document: DocumentNode;
  variables: Record<string, unknown>;
  identity: Identity;
}

/** Objects that came back from a gateway query are keyed by response key (aliases), not field name. */
const fetched = new WeakSet<object>();
function markFetched(value: unknown): void {
  if (Array.isArray(value)) value.forEach(markFetched);
  else if (value && typeof value === 'object') {
    fetched.add(value);
    Object.values(value).forEach(markFetched);
  }
}

/** The fragments and variables a selection uses (directly or through fragments), so the query is valid. */
function usage(selections: readonly SelectionNode[], fragments: Record<string, FragmentDefinitionNode>) {
  const fragmentNames = new Set<string>();
  const variableNames = new Set<string>();
  const walk = (nodes: readonly SelectionNode[]) => {
    for (const node of nodes) {
      visit(node, {
        FragmentSpread(spread) {
          if (fragmentNames.has(spread.name.value)) return;
          fragmentNames.add(spread.name.value);
          const fragment = fragments[spread.name.value];
          if (fragment) walk(fragment.selectionSet.selections);
        },
        Variable(variable) {
          variableNames.add(variable.name.value);
        },
      });
    }
  };
  walk(selections);
  return { fragmentNames, variableNames };
}

/**
 * Resolves one bus event for one subscription document: the event's own fields come from the
 * event; `member` (and a tier change's tiers) are fetched with a query built from the
 * subscriber's own selection set (aliases, fragments and variables kept) and run through the
 * gateway, so the supergraph's query planning reaches every subgraph, and the subscriber's
 * identity is authorized by the subgraphs as for any query.
 */
export function createEventResolver(schema: GraphQLSchema, run: RunQuery) {
  const remote = async (
    field: string,
    args: string,
    info: Parameters<GraphQLFieldResolver<unknown, EventExecution>>[3],
    variables: Record<string, unknown>,
    identity: Identity,
    extraVariables: Record<string, unknown>,
    extraDefinitions: string,
  ) => {
    const selections = info.fieldNodes.flatMap((node: FieldNode) => node.selectionSet?.selections ?? []);
    const { fragmentNames, variableNames } = usage(selections, info.fragments);
    const operation = info.operation as OperationDefinitionNode;
    const definitions = (operation.variableDefinitions ?? []).filter((d) => variableNames.has(d.variable.name.value)).map(print);
    const fragments = [...fragmentNames].map((name) => info.fragments[name]).filter(Boolean).map((f) => print(f!));
    const selection = print({ kind: Kind.SELECTION_SET, selections });
    const header = [...definitions, extraDefinitions].filter(Boolean).join(', ');
    const query = `query EventFields${header ? `(${header})` : ''} { ${field}${args} ${selection} }\n${fragments.join('\n')}`;
    const result = await run(query, { ...variables, ...extraVariables }, identity);
    if (result.errors?.length) {
      const [first] = result.errors;
      throw new GraphQLError(first!.message, { extensions: first!.extensions });
    }
    markFetched(result.data);
    return result.data?.[field] ?? null;
  };

  const tierField = (id: string | null, info: Parameters<GraphQLFieldResolver<unknown, EventExecution>>[3], context: EventExecution) => {
    if (!id) return null;
    const selectionWithId = { ...info, fieldNodes: info.fieldNodes.map((node) => ({
      ...node,
      selectionSet: { kind: Kind.SELECTION_SET, selections: [...(node.selectionSet?.selections ?? []), { kind: Kind.FIELD, alias: { kind: Kind.NAME, value: '__eventTierId' }, name: { kind: Kind.NAME, value: 'id' } } as FieldNode] },
    })) } as typeof info;
    return remote('tiers', '', selectionWithId, context.variables, context.identity, {}, '').then(
      (tiers) => (tiers as { __eventTierId: string }[] | null)?.find((tier) => tier.__eventTierId === id) ?? null,
    );
  };

  const fieldResolver: GraphQLFieldResolver<Record<string, unknown>, EventExecution> = (source, _args, context, info) => {
    if (fetched.has(source)) return source[info.path.key];
    const parent = info.parentType.name;
    if ((parent === 'PointsBalanceChanged' || parent === 'TierChanged') && info.fieldName === 'member') {
      // An event can outlive what it names (or name what this identity may not see): an error for this event only.
      return remote('member', '(id: $__eventMemberId)', info, context.variables, context.identity, { __eventMemberId: source.memberId }, '$__eventMemberId: ID!').then(
        (member) => member ?? Promise.reject(new DomainError('NOT_FOUND', 'The member of this event no longer exists')),
      );
    }
    if (parent === 'TierChanged' && (info.fieldName === 'tier' || info.fieldName === 'previousTier')) {
      return tierField((info.fieldName === 'tier' ? source.tierId : source.previousTierId) as string | null, info, context);
    }
    return source[info.fieldName];
  };

  /** The payload of the subscription root field for a bus event. */
  const root = (event: GatewayEvent): Record<string, unknown> => {
    const common = { memberId: event.payload.memberId, occurredAt: event.occurredAt };
    if (event.type === 'TIER_CHANGED') {
      const { tierId, previousTierId } = event.payload;
      return { tierChanged: { ...common, tierId, previousTierId } };
    }
    const { balance, delta, transaction } = event.payload;
    return { pointsBalanceChanged: { ...common, balance, delta, transaction } };
  };

  return async (execution: EventExecution, event: GatewayEvent): Promise<ExecutionResult> =>
    execute({
      schema,
      document: execution.document,
      rootValue: root(event),
      contextValue: execution,
      variableValues: execution.variables,
      fieldResolver,
    }) as Promise<ExecutionResult>;
}

export type EventResolver = ReturnType<typeof createEventResolver>;
