import { Kind, parse, type ConstDirectiveNode, type ConstValueNode, type TypeNode } from 'graphql';

/** What the join__ directives of a supergraph say about one object type. */
interface TypeInfo {
  /** Subgraph name → the key fields it resolves the type by (`@join__type(key:)`, resolvable ones only). */
  keys: Map<string, string[]>;
  /** Every subgraph that declares the type. */
  graphs: string[];
  /** Field → the subgraphs that resolve it, and the name of its (unwrapped) type. */
  fields: Map<string, { graphs: string[]; type: string }>;
}

const argument = (directive: ConstDirectiveNode, name: string): ConstValueNode | undefined =>
  directive.arguments?.find((a) => a.name.value === name)?.value;
const enumArgument = (directive: ConstDirectiveNode, name: string) => {
  const value = argument(directive, name);
  return value?.kind === Kind.ENUM ? value.value : undefined;
};
const stringArgument = (directive: ConstDirectiveNode, name: string) => {
  const value = argument(directive, name);
  return value?.kind === Kind.STRING ? value.value : undefined;
};
const booleanArgument = (directive: ConstDirectiveNode, name: string, fallback: boolean) => {
  const value = argument(directive, name);
  return value?.kind === Kind.BOOLEAN ? value.value : fallback;
};
const namedType = (type: TypeNode): string => (type.kind === Kind.NAMED_TYPE ? type.name.value : namedType(type.type));

/**
 * Which subgraph resolves what, read from the supergraph SDL the gateway boots from: the subgraph
 * names (`@join__graph`), each entity's keys per subgraph (`@join__type(graph:, key:)`) and each
 * field's subgraphs (`@join__field(graph:)`; a field without one is in every subgraph of its type).
 * Subscriptions resolve entities with it, through `_entities`, as the query planner would.
 */
export class SupergraphEntities {
  private readonly types = new Map<string, TypeInfo>();

  constructor(sdl: string) {
    const document = parse(sdl);
    const graphNames = new Map<string, string>();
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.ENUM_TYPE_DEFINITION || definition.name.value !== 'join__Graph') continue;
      for (const value of definition.values ?? []) {
        const graph = value.directives?.find((d) => d.name.value === 'join__graph');
        graphNames.set(value.name.value, (graph && stringArgument(graph, 'name')) ?? value.name.value.toLowerCase());
      }
    }
    const graphOf = (directive: ConstDirectiveNode) => {
      const value = enumArgument(directive, 'graph');
      return value === undefined ? undefined : graphNames.get(value);
    };
    for (const definition of document.definitions) {
      if (definition.kind !== Kind.OBJECT_TYPE_DEFINITION && definition.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      const info: TypeInfo = this.types.get(definition.name.value) ?? { keys: new Map(), graphs: [], fields: new Map() };
      for (const directive of definition.directives ?? []) {
        if (directive.name.value !== 'join__type') continue;
        const graph = graphOf(directive);
        if (!graph) continue;
        if (!info.graphs.includes(graph)) info.graphs.push(graph);
        const key = stringArgument(directive, 'key');
        if (key === undefined || !booleanArgument(directive, 'resolvable', true) || info.keys.has(graph)) continue;
        // Keys here are flat field lists ("id", "tenant id"); a nested key would need its selection.
        if (/[{}]/.test(key)) throw new Error(`Unsupported nested key "${key}" on ${definition.name.value}`);
        info.keys.set(graph, key.trim().split(/\s+/));
      }
      for (const field of definition.fields ?? []) {
        const joins = (field.directives ?? []).filter((d) => d.name.value === 'join__field' && graphOf(d));
        const graphs = joins.length
          ? joins.filter((d) => !booleanArgument(d, 'external', false) && !booleanArgument(d, 'usedOverridden', false)).map((d) => graphOf(d)!)
          : info.graphs;
        info.fields.set(field.name.value, { graphs, type: namedType(field.type) });
      }
      this.types.set(definition.name.value, info);
    }
  }

  private type(name: string): TypeInfo {
    const info = this.types.get(name);
    if (!info) throw new Error(`The supergraph has no object type ${name}`);
    return info;
  }

  /** The key fields `graph` resolves `type` by, if it is an entity there. */
  key(type: string, graph: string): string[] | undefined {
    return this.type(type).keys.get(graph);
  }

  /** The subgraphs that resolve `type` by a key (`_entities`), in supergraph order. */
  entityGraphs(type: string): string[] {
    return [...this.type(type).keys.keys()];
  }

  /** The subgraphs that resolve `type.field`. */
  fieldGraphs(type: string, field: string): string[] {
    const info = this.type(type).fields.get(field);
    if (!info) throw new Error(`The supergraph has no field ${type}.${field}`);
    return info.graphs;
  }

  /** The named type of `type.field` (lists and non-null unwrapped). */
  fieldType(type: string, field: string): string {
    const info = this.type(type).fields.get(field);
    if (!info) throw new Error(`The supergraph has no field ${type}.${field}`);
    return info.type;
  }
}
