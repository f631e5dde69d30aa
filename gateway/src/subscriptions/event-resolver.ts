import {
  Kind,
  execute,
  getNamedType,
  isNonNullType,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLFieldResolver,
  type GraphQLSchema,
  type SelectionSetNode,
} from 'graphql';
import { DomainError, type Identity } from '@loyalty/kit/core';
import { EntityResolver, type Representation, type SelectionContext, type SubgraphFetch } from './entities';
import type { GatewayEvent } from './hub';
import type { SupergraphEntities } from './supergraph';
import { FIELD_OF, SUBSCRIPTIONS, entryOf, type AnySubscription, type EventField } from './table';

export interface EventExecution {
  document: DocumentNode;
  variables: Record<string, unknown>;
  identity: Identity;
  /** Identities with the same scope (tenant, roles, member) see the same results. */
  scope: string;
}

/** Objects that came back from a subgraph are keyed by response key (aliases), not field name. */
const fetched = new WeakSet<object>();
function markFetched(value: unknown): void {
  if (Array.isArray(value)) value.forEach(markFetched);
  else if (value && typeof value === 'object') {
    fetched.add(value);
    Object.values(value).forEach(markFetched);
  }
}

/** The event payload behind a payload type's object, for its entity fields. */
const PAYLOAD = Symbol('payload');

interface PayloadType {
  entry: AnySubscription;
  /**
   * Entity field → the subgraph that resolves it first (and says whether it exists, and whether
   * the subscriber may see it): the one declaring the subscription field, when the entity is one
   * there, else the first the supergraph names.
   */
  owners: Map<string, string>;
}

/**
 * Resolves one bus event for one subscription document, as the table (table.ts) declares it: the
 * payload type's own fields come from the event; each entity field is fetched by its key through
 * `_entities`, with the subscriber's own selection (aliases, fragments and variables kept), from
 * the subgraphs the supergraph names for its fields, so the subscriber's identity is authorized by
 * the subgraphs as for any query. Only the entity an event names is fetched (a tier change's two
 * tiers, never every tier).
 */
export function createEventResolver(schema: GraphQLSchema, supergraph: SupergraphEntities, fetch: SubgraphFetch) {
  const entities = new EntityResolver(supergraph, fetch);
  const payloadTypes = new Map<string, PayloadType>();
  const subscriptionType = schema.getSubscriptionType()!;
  for (const field of Object.keys(subscriptionType.getFields())) {
    if (!Object.hasOwn(SUBSCRIPTIONS, field)) throw new Error(`Subscription.${field} has no entry in the subscription table`);
  }
  for (const field of Object.keys(SUBSCRIPTIONS) as EventField[]) {
    const entry = entryOf(field);
    const typeName = getNamedType(subscriptionType.getFields()[field]!.type).name;
    const [graph] = supergraph.fieldGraphs(subscriptionType.name, field);
    if (!graph) throw new Error(`No subgraph declares Subscription.${field}`);
    const owners = new Map<string, string>();
    for (const [name, entity] of Object.entries(entry.entities)) {
      const owner = supergraph.key(entity.type, graph) ? graph : supergraph.entityGraphs(entity.type)[0];
      const key = owner ? supergraph.key(entity.type, owner) : undefined;
      // The table's keys must be the supergraph's: the gateway refuses to start on a mismatch.
      if (!key || key.join(' ') !== Object.keys(entity.key).join(' ')) {
        throw new Error(`${typeName}.${name}: the supergraph resolves ${entity.type} by "${key?.join(' ') ?? 'no key'}", the subscription table names "${Object.keys(entity.key).join(' ')}"`);
      }
      owners.set(name, owner!);
    }
    payloadTypes.set(typeName, { entry, owners });
  }

  const entityField = (payloadType: PayloadType, source: Record<string | symbol, unknown>, info: Parameters<GraphQLFieldResolver<unknown, EventExecution>>[3], context: EventExecution) => {
    const entity = payloadType.entry.entities[info.fieldName]!;
    const payload = source[PAYLOAD] as Record<string, unknown>;
    const representation: Representation = { __typename: entity.type };
    for (const [keyField, payloadField] of Object.entries(entity.key)) {
      const value = payload[payloadField];
      if (value === null || value === undefined) return null;
      representation[keyField] = value;
    }
    const graph = payloadType.owners.get(info.fieldName)!;
    const selection: SelectionContext = {
      fragments: info.fragments,
      variableDefinitions: (info.operation).variableDefinitions ?? [],
      variables: context.variables,
      coerced: info.variableValues,
      identity: context.identity,
      scope: context.scope,
    };
    const selectionSet: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: info.fieldNodes.flatMap((node) => node.selectionSet?.selections ?? []) };
    return entities.resolve(graph, representation, selectionSet, selection).then((row) => {
      // An event can outlive what it names (or name what this identity may not see): an error for this event only.
      if (!row) return isNonNullType(info.returnType) ? Promise.reject(new DomainError('NOT_FOUND', `The ${info.fieldName} of this event no longer exists`)) : null;
      markFetched(row);
      return row;
    });
  };

  const fieldResolver: GraphQLFieldResolver<Record<string | symbol, unknown>, EventExecution> = (source, _args, context, info) => {
    if (fetched.has(source)) return source[info.path.key];
    const payloadType = payloadTypes.get(info.parentType.name);
    if (payloadType && Object.hasOwn(payloadType.entry.entities, info.fieldName)) return entityField(payloadType, source, info, context);
    return source[info.fieldName];
  };

  /** The payload of the subscription root field for a bus event. */
  const root = (event: GatewayEvent): Record<string, unknown> => {
    const field = FIELD_OF[event.type];
    return { [field]: { ...entryOf(field).fields(event.payload), occurredAt: event.occurredAt, [PAYLOAD]: event.payload } };
  };

  return async (execution: EventExecution, event: GatewayEvent): Promise<ExecutionResult> =>
    execute({
      schema,
      document: execution.document,
      rootValue: root(event),
      contextValue: execution,
      variableValues: execution.variables,
      fieldResolver,
    });
}

export type EventResolver = ReturnType<typeof createEventResolver>;
