import {
  GraphQLError,
  Kind,
  print,
  visit,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionNode,
  type SelectionSetNode,
  type VariableDefinitionNode,
} from 'graphql';
import type { Identity } from '@loyalty/kit/core';
import type { SupergraphEntities } from './supergraph';

/** A representation as `_entities` takes it: the type name and the key fields' values. */
export type Representation = { __typename: string } & Record<string, unknown>;
type Row = Record<string, unknown>;

/** Sends one GraphQL request to a subgraph with the given identity (signed as for any gateway fetch). */
export type SubgraphFetch = (
  graph: string,
  request: { query: string; variables: Record<string, unknown> },
  identity: Identity,
) => Promise<{ data?: Record<string, unknown> | null; errors?: readonly { message: string; path?: readonly (string | number)[]; extensions?: Record<string, unknown> }[] }>;

/** What a subscriber's selection needs: its fragments, variable definitions and (raw) values, and the values to decide @skip/@include. */
export interface SelectionContext {
  fragments: Record<string, FragmentDefinitionNode>;
  variableDefinitions: readonly VariableDefinitionNode[];
  variables: Record<string, unknown>;
  /** Coerced values, for @skip/@include. */
  coerced: Record<string, unknown>;
  identity: Identity;
  /** Identities with the same scope (tenant, roles, member) may share a fetch. */
  scope: string;
}

/** Fields of one type to fetch from one subgraph, for every object at `path` below an entity. */
interface FollowUp {
  path: string[];
  type: string;
  graph: string;
  fields: FieldNode[];
}

const KEY_ALIAS = '__key_';
const responseKey = (field: FieldNode) => field.alias?.value ?? field.name.value;
const aliased = (alias: string, name: string): FieldNode => ({ kind: Kind.FIELD, alias: { kind: Kind.NAME, value: alias }, name: { kind: Kind.NAME, value: name } });

function included(node: SelectionNode, coerced: Record<string, unknown>): boolean {
  for (const directive of node.directives ?? []) {
    const name = directive.name.value;
    if (name !== 'skip' && name !== 'include') continue;
    const value = directive.arguments?.find((a) => a.name.value === 'if')?.value;
    const condition = value?.kind === Kind.BOOLEAN ? value.value : value?.kind === Kind.VARIABLE ? coerced[value.name.value] === true : false;
    if (name === 'skip' ? condition : !condition) return false;
  }
  return true;
}

/** The fields of a selection set, fragments spread and @skip/@include decided (the schema has no abstract types). */
function flatten(selectionSet: SelectionSetNode | undefined, context: SelectionContext): FieldNode[] {
  const fields: FieldNode[] = [];
  for (const node of selectionSet?.selections ?? []) {
    if (!included(node, context.coerced)) continue;
    if (node.kind === Kind.FIELD) fields.push({ ...node, directives: [] });
    else if (node.kind === Kind.INLINE_FRAGMENT) fields.push(...flatten(node.selectionSet, context));
    else {
      const fragment = context.fragments[node.name.value];
      if (fragment) fields.push(...flatten(fragment.selectionSet, context));
    }
  }
  return fields;
}

/** The rows at `path` below `rows` (lists flattened, nulls skipped). */
function at(rows: Row[], path: readonly string[]): Row[] {
  let current: unknown[] = rows;
  for (const key of path) {
    current = current.flatMap((row) => {
      const value = (row as Row | null)?.[key];
      return Array.isArray(value) ? (value as unknown[]).flat(Infinity) : [value];
    });
  }
  return current.filter((row): row is Row => row !== null && typeof row === 'object');
}

function merge(target: Row, source: Row): void {
  for (const [key, value] of Object.entries(source)) {
    const existing = target[key];
    if (Array.isArray(existing) && Array.isArray(value)) {
      const list = existing as unknown[];
      (value as unknown[]).forEach((item, i) => {
        const current = list[i];
        if (current && typeof current === 'object' && item && typeof item === 'object') merge(current as Row, item as Row);
        else list[i] = item;
      });
    } else if (existing && typeof existing === 'object' && value && typeof value === 'object') merge(existing as Row, value as Row);
    else target[key] = value;
  }
}

interface Waiter {
  representation: Representation;
  resolve: (row: Row | null) => void;
  reject: (error: unknown) => void;
}
interface Group {
  type: string;
  selections: readonly SelectionNode[];
  context: SelectionContext;
  /** Distinct representations, by their JSON. */
  representations: Map<string, Waiter[]>;
}
interface Batch {
  graph: string;
  identity: Identity;
  groups: Map<string, Group>;
}

/**
 * Resolves entities through `_entities`, as the query planner does for an entity met in a query:
 * the fields the entity's subgraph resolves go there, with the entity's representation; fields of
 * other subgraphs follow, from the key the first answer carries, to the subgraphs the supergraph
 * names, level by level. Requests of one tick are batched per subgraph and identity scope into one
 * request (one `_entities` alias per distinct selection), and equal representations are sent
 * once: an event fanned out to many subscribers, or many events of one member, cost one fetch.
 */
export class EntityResolver {
  private readonly batches = new Map<string, Batch>();

  constructor(
    private readonly supergraph: SupergraphEntities,
    private readonly fetch: SubgraphFetch,
  ) {}

  /**
   * The entity `representation` names with the fields `selectionSet` selects, fetched first from
   * `graph` (which also says whether it exists and whether this identity may see it); null when
   * that subgraph has no such entity. A subgraph error rejects with that error.
   */
  async resolve(graph: string, representation: Representation, selectionSet: SelectionSetNode | undefined, context: SelectionContext): Promise<Row | null> {
    const type = representation.__typename;
    const { selections, followUps } = this.split(type, flatten(selectionSet, context), graph, [], context);
    const row = await this.load(graph, type, representation, selections, context);
    if (row) await this.follow([row], followUps, context);
    return row;
  }

  /**
   * What `graph` can answer of `fields` on `type`, and what must follow from other subgraphs. An
   * object with fields elsewhere also asks for its key, so the follow-up can name it.
   */
  private split(type: string, fields: FieldNode[], graph: string, path: string[], context: SelectionContext): { selections: FieldNode[]; followUps: FollowUp[] } {
    const selections: FieldNode[] = [];
    const followUps: FollowUp[] = [];
    const elsewhere = new Map<string, FieldNode[]>();
    for (const field of fields) {
      const name = field.name.value;
      if (name === '__typename') {
        selections.push(field);
        continue;
      }
      const graphs = this.supergraph.fieldGraphs(type, name);
      if (!graphs.includes(graph)) {
        const target = graphs.find((g) => this.supergraph.key(type, g));
        if (!target) throw new Error(`No subgraph resolves ${type}.${name} by key`);
        elsewhere.set(target, [...(elsewhere.get(target) ?? []), field]);
        continue;
      }
      if (!field.selectionSet) {
        selections.push(field);
        continue;
      }
      const inner = this.split(this.supergraph.fieldType(type, name), flatten(field.selectionSet, context), graph, [...path, responseKey(field)], context);
      selections.push({ ...field, selectionSet: { kind: Kind.SELECTION_SET, selections: inner.selections } });
      followUps.push(...inner.followUps);
    }
    if (elsewhere.size > 0) {
      const keys = new Set([...elsewhere.keys()].flatMap((target) => this.supergraph.key(type, target)!));
      selections.push(aliased(`${KEY_ALIAS}__typename`, '__typename'), ...[...keys].map((key) => aliased(`${KEY_ALIAS}${key}`, key)));
      for (const [target, targetFields] of elsewhere) followUps.push({ path, type, graph: target, fields: targetFields });
    }
    return { selections, followUps };
  }

  /** Fetches each follow-up for every object it applies to, merges the answers in, and goes on a level down. */
  private async follow(rows: Row[], followUps: FollowUp[], context: SelectionContext): Promise<void> {
    await Promise.all(
      followUps.map(async ({ path, type, graph, fields }) => {
        const targets = at(rows, path);
        if (targets.length === 0) return;
        const inner = this.split(type, fields, graph, [], context);
        const key = this.supergraph.key(type, graph)!;
        const answers = await Promise.all(
          targets.map((target) => {
            const typename = target[`${KEY_ALIAS}__typename`];
            const representation: Representation = { __typename: typeof typename === 'string' ? typename : type };
            for (const field of key) representation[field] = target[`${KEY_ALIAS}${field}`];
            return this.load(graph, type, representation, inner.selections, context);
          }),
        );
        const found = targets.filter((target, i) => {
          const answer = answers[i];
          if (answer) merge(target, answer);
          return Boolean(answer);
        });
        await this.follow(found, inner.followUps, context);
      }),
    );
  }

  /** Queues one representation for the next batch of `graph` and this identity scope. */
  private load(graph: string, type: string, representation: Representation, selections: readonly SelectionNode[], context: SelectionContext): Promise<Row | null> {
    const batchKey = JSON.stringify([graph, context.scope]);
    let batch = this.batches.get(batchKey);
    if (!batch) {
      batch = { graph, identity: context.identity, groups: new Map() };
      this.batches.set(batchKey, batch);
      const flushed = batch;
      setImmediate(() => {
        this.batches.delete(batchKey);
        void this.send(flushed);
      });
    }
    const printed = print({ kind: Kind.SELECTION_SET, selections });
    const used = variablesOf(selections);
    const groupKey = JSON.stringify([type, printed, used.map((name) => context.variables[name] ?? null)]);
    let group = batch.groups.get(groupKey);
    if (!group) {
      group = { type, selections, context, representations: new Map() };
      batch.groups.set(groupKey, group);
    }
    const repKey = JSON.stringify(representation);
    const waiters = group.representations.get(repKey) ?? [];
    group.representations.set(repKey, waiters);
    return new Promise((resolve, reject) => waiters.push({ representation, resolve, reject }));
  }

  /** One request: an `_entities` alias per group, its variables renamed apart from the other groups'. */
  private async send(batch: Batch): Promise<void> {
    const groups = [...batch.groups.values()];
    const definitions: string[] = [];
    const roots: string[] = [];
    const variables: Record<string, unknown> = {};
    groups.forEach((group, i) => {
      const prefix = `e${i}_`;
      definitions.push(`$${prefix}representations: [_Any!]!`);
      variables[`${prefix}representations`] = [...group.representations.values()].map((waiters) => waiters[0]!.representation);
      const used = new Set(variablesOf(group.selections));
      for (const definition of group.context.variableDefinitions) {
        const name = definition.variable.name.value;
        if (!used.has(name)) continue;
        definitions.push(print(renameVariables(definition, prefix)));
        if (name in group.context.variables) variables[`${prefix}${name}`] = group.context.variables[name];
      }
      const selection = print(renameVariables({ kind: Kind.SELECTION_SET, selections: group.selections }, prefix));
      roots.push(`e${i}: _entities(representations: $${prefix}representations) { ... on ${group.type} ${selection} }`);
    });
    const query = `query SubscriptionEntities(${definitions.join(', ')}) { ${roots.join(' ')} }`;
    const settle = (fn: (waiter: Waiter, group: number, index: number) => void) =>
      groups.forEach((group, g) => [...group.representations.values()].forEach((waiters, index) => waiters.forEach((waiter) => fn(waiter, g, index))));
    try {
      const response = await this.fetch(batch.graph, { query, variables }, batch.identity);
      const errors = response.errors ?? [];
      // An error is one representation's when its path says so (e<group>, index), else every one's.
      const errorOf = (g: number, index: number) =>
        errors.find(({ path: [alias, i] = [] }) => {
          if (typeof alias !== 'string' || !/^e\d+$/.test(alias)) return true;
          return alias === `e${g}` && (typeof i !== 'number' || i === index);
        });
      settle((waiter, g, index) => {
        const error = errorOf(g, index);
        if (error) return waiter.reject(new GraphQLError(error.message, { extensions: error.extensions }));
        const rows = response.data?.[`e${g}`] as (Row | null)[] | undefined;
        waiter.resolve(structuredClone(rows?.[index] ?? null));
      });
    } catch (error) {
      settle((waiter) => waiter.reject(error));
    }
  }
}

function variablesOf(node: readonly SelectionNode[]): string[] {
  const names = new Set<string>();
  for (const selection of node) visit(selection, { Variable: (variable) => void names.add(variable.name.value) });
  return [...names];
}

function renameVariables<T extends SelectionSetNode | VariableDefinitionNode>(node: T, prefix: string): T {
  return visit<T>(node, { Variable: (variable) => ({ ...variable, name: { ...variable.name, value: `${prefix}${variable.name.value}` } }) });
}
