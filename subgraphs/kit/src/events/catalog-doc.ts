import { z } from 'zod';
import { EVENT_CATALOG, EVENT_TYPES } from './catalog';

/** What a consumer does with events, for the catalogue in docs/architecture.md. */
const CONSUMER_ROLE: Record<string, string> = {
  analytics: 'analytics (the projector, `subgraphs/analytics/src/projection/projector.ts`)',
  gateway: 'gateway (subscriptions, `gateway/src/subscriptions/hub.ts`)',
  erasure: 'erasure (campaigns, rewards and analytics each remove what they hold and confirm to members, `subgraphs/kit/src/privacy.ts`)',
  webhooks: "webhooks (queued for subscribers' endpoints, `subgraphs/analytics/src/webhook/webhook.consumer.ts`)",
};

type JsonSchema = {
  type?: string | string[];
  description?: string;
  format?: string;
  enum?: unknown[];
  anyOf?: JsonSchema[];
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  minimum?: number;
};

function describe(schema: JsonSchema): string {
  if (schema.anyOf) {
    const others = schema.anyOf.filter((s) => s.type !== 'null');
    const nullable = others.length < schema.anyOf.length;
    return `${others.map(describe).join(' or ')}${nullable ? ' or null' : ''}`;
  }
  if (Array.isArray(schema.type)) {
    const types = schema.type.filter((t) => t !== 'null');
    return `${types.map((type) => describe({ ...schema, type })).join(' or ')}${types.length < schema.type.length ? ' or null' : ''}`;
  }
  if (schema.enum) return schema.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (schema.type === 'array') return `list of ${describe(schema.items ?? {})}`;
  if (schema.type === 'object') return `{ ${Object.keys(schema.properties ?? {}).join(', ')} }`;
  if (schema.type === 'string' && schema.format === 'uuid') return 'id';
  if (schema.type === 'string' && schema.format === 'date-time') return 'ISO date-time';
  // zod's integers are safe integers: only a bound of our own is worth saying.
  if (schema.type === 'integer') return schema.minimum === undefined || schema.minimum < -1e15 ? 'integer' : `integer ≥ ${schema.minimum}`;
  return schema.type ?? 'any';
}

/** The "Events" catalogue of docs/architecture.md, rendered from EVENT_CATALOG. */
export function renderEventCatalog(): string {
  const sections = EVENT_TYPES.map((type) => {
    const spec: { description: string; producer: string; consumers: readonly string[]; payload: z.ZodObject; webhook?: string } = EVENT_CATALOG[type];
    const json = z.toJSONSchema(spec.payload, { io: 'input' }) as JsonSchema;
    const rows = Object.entries(json.properties ?? {}).map(([name, field]) => `| \`${name}\` | ${describe(field)} | ${field.description ?? ''} |`);
    const consumers = spec.consumers.length > 0 ? spec.consumers.map((c) => CONSUMER_ROLE[c] ?? c).join('; ') : 'none yet';
    return [
      `### \`${type}\``,
      '',
      spec.description,
      '',
      `- Producer: ${spec.producer}`,
      `- Consumers: ${consumers}`,
      ...(spec.webhook ? [`- Webhook: \`${spec.webhook}\``] : []),
      '',
      '| payload field | type | note |',
      '|---|---|---|',
      ...rows,
    ].join('\n');
  });
  return sections.join('\n\n');
}
