import type { ApolloServerPlugin } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';

const requestError = (message: string, status = 400) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status } } });

/**
 * GraphQL-over-HTTP status codes at the edge:
 * - an operation the request does not identify (unknown `operationName`, several operations and none
 *   named) or a subscription sent over HTTP is the caller's mistake: 400, before the gateway plans it
 *   (its executor would otherwise fail as an internal error);
 * - a request error (nothing executed: parse, validation, variables) is 400, except for a client that
 *   asked for the legacy `application/json` by name: the GraphQL-over-HTTP spec has those answered
 *   200, because intermediaries may swallow the body of a non-2xx JSON response;
 * - an operation that got nothing but SERVICE_UNAVAILABLE errors is 503 with Retry-After.
 */
export function httpSemantics<TContext extends object>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (!operation) {
            throw requestError(
              request.operationName
                ? `No operation named "${request.operationName}" in the document`
                : 'The document holds several operations: choose one with operationName',
            );
          }
          if (operation.operation === OperationTypeNode.SUBSCRIPTION) {
            throw requestError('Subscriptions are served over WebSocket on this path (graphql-transport-ws protocol), not over HTTP');
          }
        },
        async willSendResponse({ request, response }) {
          const body = response.body;
          if (body.kind !== 'single' || !body.singleResult.errors?.length) return;
          const { data, errors } = body.singleResult;
          if (data !== undefined) {
            if (failedWhole(data) && errors.every((e) => e.extensions?.code === 'SERVICE_UNAVAILABLE')) {
              response.http.status = 503;
              response.http.headers.set('retry-after', RETRY_AFTER_SECONDS);
            }
            return;
          }
          if (response.http.status !== 400) return;
          if (asksForLegacyJson(request.http?.headers.get('accept'))) response.http.status = 200;
        },
      };
    },
  };
}

/** When nothing at all could be answered because a subgraph was down, the whole request may be retried. */
const RETRY_AFTER_SECONDS = '1';

function failedWhole(data: Record<string, unknown> | null | undefined): boolean {
  return data === null || data === undefined || Object.values(data).every((value) => value === null);
}

/** True when the Accept header names application/json and prefers it to application/graphql-response+json. */
function asksForLegacyJson(accept: string | undefined): boolean {
  const quality = (type: string) => {
    for (const part of (accept ?? '').split(',')) {
      const [name, ...params] = part.split(';').map((s) => s.trim().toLowerCase());
      if (name !== type) continue;
      const q = params.find((p) => p.startsWith('q='));
      return q ? Number(q.slice(2)) || 0 : 1;
    }
    return 0;
  };
  const legacy = quality('application/json');
  return legacy > 0 && legacy > quality('application/graphql-response+json');
}
