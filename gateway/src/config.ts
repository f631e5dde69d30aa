import { join } from 'node:path';
import { z } from 'zod';
import { parseEnv, resolveSecret } from '@loyalty/kit/core';

const url = (fallback: string) => z.string().url().default(fallback);

const schema = z.object({
  NODE_ENV: z.string().default('development'),
  GATEWAY_PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  MEMBERS_URL: url('http://127.0.0.1:4001'),
  CAMPAIGNS_URL: url('http://127.0.0.1:4002'),
  REWARDS_URL: url('http://127.0.0.1:4003'),
  ANALYTICS_URL: url('http://127.0.0.1:4004'),
  SUPERGRAPH_PATH: z.string().optional(),
  EVENT_BUS_URL: z.string().url().default('postgres://postgres@127.0.0.1:5432/loyalty_events'),
  SUBSCRIPTION_BUFFER_LIMIT: z.coerce.number().int().min(1).default(256),
  JWT_SECRET: z.string().min(32).optional(),
  SERVICE_SECRET: z.string().min(32).optional(),
  API_KEY_CACHE_SECONDS: z.coerce.number().int().min(0).max(60).default(30),
  SUBGRAPH_TIMEOUT_MS: z.coerce.number().int().min(100).default(10_000),
  RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(60_000),
  MAX_QUERY_DEPTH: z.coerce.number().int().min(1).default(12),
  MAX_ALIASES: z.coerce.number().int().min(1).default(30),
  MAX_TOKENS: z.coerce.number().int().min(100).default(5000),
  MAX_COST: z.coerce.number().int().min(100).default(20_000),
  LOG_LEVEL: z.string().default('info'),
  // Browser origins allowed to call the API cross-origin, comma-separated (empty: none).
  CORS_ORIGINS: z.string().default(''),
  INTROSPECTION: z.enum(['true', 'false']).optional(),
  DATA_DIR: z.string().default('.data'),
});

export function loadConfig(env: NodeJS.ProcessEnv) {
  const raw = parseEnv(schema, env);
  const production = raw.NODE_ENV === 'production';
  const secrets = { production, dataDir: raw.DATA_DIR };
  return {
    host: raw.HOST,
    port: raw.GATEWAY_PORT,
    subgraphs: {
      members: raw.MEMBERS_URL,
      campaigns: raw.CAMPAIGNS_URL,
      rewards: raw.REWARDS_URL,
      analytics: raw.ANALYTICS_URL,
    } as Record<string, string>,
    supergraphPath: raw.SUPERGRAPH_PATH ?? join(__dirname, '..', '..', 'schema', 'supergraph.graphql'),
    jwtSecret: resolveSecret('JWT_SECRET', raw.JWT_SECRET, secrets),
    serviceSecret: resolveSecret('SERVICE_SECRET', raw.SERVICE_SECRET, secrets),
    apiKeyCacheMs: raw.API_KEY_CACHE_SECONDS * 1000,
    eventBusUrl: raw.EVENT_BUS_URL,
    subscriptionBufferLimit: raw.SUBSCRIPTION_BUFFER_LIMIT,
    subgraphTimeoutMs: raw.SUBGRAPH_TIMEOUT_MS,
    limits: {
      ratePerMinute: raw.RATE_LIMIT_PER_MINUTE,
      maxDepth: raw.MAX_QUERY_DEPTH,
      maxAliases: raw.MAX_ALIASES,
      maxTokens: raw.MAX_TOKENS,
      maxCost: raw.MAX_COST,
    },
    logLevel: raw.LOG_LEVEL,
    corsOrigins: raw.CORS_ORIGINS.split(',')
      .map((origin) => origin.trim())
      .filter(Boolean),
    // Schema introspection helps while building a client; a production API does not hand out its map.
    introspection: raw.INTROSPECTION ? raw.INTROSPECTION === 'true' : !production,
  };
}
export type GatewayConfig = ReturnType<typeof loadConfig>;
