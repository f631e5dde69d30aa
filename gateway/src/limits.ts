import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Identity } from '@loyalty/kit';
import type { GatewayConfig } from './config';

/**
 * Operation limits (graphql-armor): depth, aliases, directives and cost are checked while
 * the document is validated, before anything reaches a subgraph. Rejections surface as
 * BAD_USER_INPUT; field suggestions ("Did you mean …") are not offered to clients.
 */
export function operationLimits(config: GatewayConfig) {
  return new ApolloArmor({
    maxDepth: { n: config.limits.maxDepth, ignoreIntrospection: true },
    maxAliases: { n: config.limits.maxAliases },
    // Counted by graphql-js' own parser instead (`tokenLimit`): armor's token check parses the
    // document a second time in parsingDidStart and its error there becomes an HTTP 500.
    maxTokens: { enabled: false },
    maxDirectives: { n: 50 },
    costLimit: { maxCost: config.limits.maxCost, ignoreIntrospection: true },
    blockFieldSuggestion: { enabled: true },
  }).protect();
}

/** The parser's token limit: a longer document is a syntax error (400 BAD_USER_INPUT), never parsed further. */
export function tokenLimit(config: GatewayConfig) {
  return { maxTokens: config.limits.maxTokens };
}

/**
 * A per-principal rate limit (rate-limiter-flexible, in memory: each gateway replica counts its own
 * requests). Exceeding it answers RATE_LIMITED with HTTP 429 and Retry-After.
 */
export function createRateLimit(config: GatewayConfig) {
  const perMinute = config.limits.ratePerMinute;
  if (perMinute === 0) return async () => undefined;
  const limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  return async (identity: Identity): Promise<void> => {
    try {
      await limiter.consume(`${identity.tenant}:${identity.principal}`);
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const retryAfter = String(Math.max(1, Math.ceil(rejection.msBeforeNext / 1000)));
      throw new GraphQLError(`Rate limit of ${perMinute} requests per minute exceeded; retry in ${retryAfter} s`, {
        extensions: { code: 'RATE_LIMITED', http: { status: 429, headers: new Map([['retry-after', retryAfter]]) } },
      });
    }
  };
}
