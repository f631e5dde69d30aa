import { ApolloArmor } from '@escape.tech/graphql-armor';
import { GraphQLError, parse, specifiedRules, validate, type DocumentNode, type GraphQLSchema, type ValidationRule } from 'graphql';
import { RateLimiterMemory, RateLimiterRes } from 'rate-limiter-flexible';
import type { Identity } from '@loyalty/kit/core';
import type { GatewayConfig } from './config';

/** The most one request may carry: an HTTP body, a WebSocket message. */
export const MAX_REQUEST_BYTES = 256 * 1024;

/**
 * The most a subscription document may weigh before it is parsed. Any document within the token
 * limit fits easily; what is longer is padding (comments, whitespace, long strings) that only costs
 * lexing time, on the event loop every subscriber shares.
 */
export const MAX_SUBSCRIPTION_DOCUMENT_BYTES = 64 * 1024;

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

const SUGGESTION = /\s*Did you mean .+\?/g;

export interface DocumentLimits {
  /** Throws a GraphQLError (BAD_USER_INPUT) for a document too large or with too many tokens. */
  parse(query: string): DocumentNode;
  /** graphql-js's rules and the same armor rules as over HTTP; messages carry no suggestions. */
  validate(schema: GraphQLSchema, document: DocumentNode): GraphQLError[];
}

/**
 * The HTTP limits for a document that never passes through Apollo (a subscription over graphql-ws):
 * armor's own validation rules, its token limit as graphql-js's parser option, and no suggestions.
 */
export function documentLimits(config: GatewayConfig, armorRules: readonly ValidationRule[]): DocumentLimits {
  const rules = [...specifiedRules, ...armorRules];
  const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
  return {
    parse(query) {
      const bytes = Buffer.byteLength(query);
      if (bytes > MAX_SUBSCRIPTION_DOCUMENT_BYTES) {
        throw badInput(`The document has ${bytes} bytes; a subscription document may have at most ${MAX_SUBSCRIPTION_DOCUMENT_BYTES}`);
      }
      try {
        return parse(query, { maxTokens: config.limits.maxTokens });
      } catch (error) {
        throw badInput((error as Error).message);
      }
    },
    validate(schema, document) {
      return validate(schema, document, rules).map((error) => badInput(error.message.replace(SUGGESTION, '')));
    },
  };
}

/**
 * Where a principal stands in its budget after a request, as the IETF RateLimit header fields say
 * it (draft-ietf-httpapi-ratelimit-headers): the budget, what is left of it, and the seconds until
 * the window starts afresh.
 */
export interface RateLimitState {
  limit: number;
  remaining: number;
  resetSeconds: number;
}

/** Counts one request of the principal; throws RATE_LIMITED past its budget. null: no limit set. */
export type RateLimit = (identity: Identity) => Promise<RateLimitState | null>;

/** The response headers of a rate-limit state. */
export function rateLimitHeaders(state: RateLimitState): Map<string, string> {
  return new Map([
    ['ratelimit-limit', String(state.limit)],
    ['ratelimit-remaining', String(state.remaining)],
    ['ratelimit-reset', String(state.resetSeconds)],
  ]);
}

/** Headers a browser client may read across origins. */
export const RATE_LIMIT_HEADERS = ['ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset', 'retry-after'];

/**
 * A per-principal rate limit (rate-limiter-flexible, in memory: each gateway replica counts its own
 * requests and subscriptions). Exceeding it answers RATE_LIMITED with HTTP 429 and Retry-After;
 * every answer to an authenticated request carries the RateLimit header fields.
 */
export function createRateLimit(config: GatewayConfig): RateLimit {
  const perMinute = config.limits.ratePerMinute;
  if (perMinute === 0) return async () => null;
  const limiter = new RateLimiterMemory({ points: perMinute, duration: 60 });
  const stateOf = (res: RateLimiterRes): RateLimitState => ({
    limit: perMinute,
    remaining: res.remainingPoints,
    resetSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)),
  });
  return async (identity: Identity): Promise<RateLimitState> => {
    try {
      return stateOf(await limiter.consume(`${identity.tenant}:${identity.principal}`));
    } catch (rejection) {
      if (!(rejection instanceof RateLimiterRes)) throw rejection;
      const state = stateOf(rejection);
      const headers = rateLimitHeaders({ ...state, remaining: 0 });
      headers.set('retry-after', String(state.resetSeconds));
      throw new GraphQLError(`Rate limit of ${perMinute} requests per minute exceeded; retry in ${state.resetSeconds} s`, {
        extensions: { code: 'RATE_LIMITED', http: { status: 429, headers } },
      });
    }
  };
}
