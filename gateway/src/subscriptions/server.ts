import { createHash } from 'node:crypto';
import type { Server } from 'node:http';
import {
  GraphQLError,
  Kind,
  OperationTypeNode,
  type ExecutionArgs,
  type DocumentNode,
  type ExecutionResult,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import { LRUCache } from 'lru-cache';
import { WebSocketServer, type WebSocket } from 'ws';
import { DomainError, ForbiddenError, actsOnSelf, boundedStream, hasRole, parseId, rolesOf, type Identity, type Logger } from '@loyalty/kit/core';
import type { Authenticate } from '../authenticate';
import { MAX_REQUEST_BYTES, type DocumentLimits, type RateLimit } from '../limits';
import type { EventExecution } from './event-resolver';
import type { SubscriptionHub } from './hub';
import { entryOf, type EventField } from './table';

/** Closes a subscriber that does not read its events fast enough (its buffer is full). */
export const SLOW_SUBSCRIBER = { code: 1013, reason: 'Subscriber too slow: event buffer full' };
/**
 * Closes a connection when its token expires: graphql-ws's Unauthorized, as for a connection that
 * starts with an expired token. Clients treat it as final; reconnect with a fresh token.
 */
export const TOKEN_EXPIRED = { code: CloseCode.Unauthorized, reason: 'Unauthorized: Token expired' };
// setTimeout fires at once beyond this (about 24.8 days); later expiries are re-armed.
const MAX_TIMER_MS = 2 ** 31 - 1;

type Extra = Record<PropertyKey, unknown> & {
  socket: WebSocket;
  identity?: Identity;
};

interface Prepared {
  field: EventField;
  memberId: string | null;
  execution: EventExecution;
  key: string;
  socket: WebSocket;
}

/** Distinct subscription documents kept parsed and validated, and their text at most (a tree is a few times its text). */
const CHECKED_DOCUMENTS = 1000;
const CHECKED_DOCUMENT_CHARS = 2 * 1024 * 1024;

type Checked = { document: DocumentNode; errors?: undefined } | { errors: readonly GraphQLError[]; document?: undefined };

const asGraphQLError = (error: DomainError) => new GraphQLError(error.message, { extensions: error.extensions });
/** A refusal as a subscription error: the code only (the HTTP status and headers mean nothing here). */
const asSubscriptionError = (error: GraphQLError) => new GraphQLError(error.message, { extensions: { code: error.extensions.code } });

function closeWhenExpired(socket: WebSocket, expiresAt: number): void {
  let timer: NodeJS.Timeout | undefined;
  const arm = () => {
    const left = expiresAt - Date.now();
    if (left <= 0) socket.close(TOKEN_EXPIRED.code, TOKEN_EXPIRED.reason);
    else timer = setTimeout(arm, Math.min(left, MAX_TIMER_MS));
  };
  arm();
  socket.once('close', () => clearTimeout(timer));
}

/**
 * Which events a subscription may see, by the field's access rule in the subscription table (the
 * rule of the subgraph declaring the field): its roles follow one member or the whole tenant
 * (null), a member token only itself.
 */
function authorize(identity: Identity, field: EventField, requested: string | null): string | null {
  const { access: rule } = entryOf(field);
  const anyMember = rolesOf(rule);
  if (hasRole(identity, anyMember)) return requested;
  if (actsOnSelf(identity, null, rule)) {
    if (requested !== null && requested !== identity.memberId) throw new ForbiddenError('A member may only follow its own events');
    return identity.memberId!;
  }
  throw new ForbiddenError(`Subscriptions need one of the roles: member, ${anyMember.join(', ')}`);
}

export interface SubscriptionServerOptions {
  httpServer: Server;
  schema: GraphQLSchema;
  hub: SubscriptionHub;
  authenticate: Authenticate;
  /** The HTTP path's per-principal limit: every subscribe counts as a request. */
  rateLimit: RateLimit;
  /** The HTTP path's operation limits, applied to each subscription document. */
  documents: DocumentLimits;
  log: Logger;
  /** Events buffered per subscription before a slow subscriber is closed. */
  bufferLimit: number;
}

/**
 * GraphQL subscriptions on the gateway's own `/graphql`, over graphql-ws: the token travels in
 * `connection_init`, each subscription is validated and authorized on its own (a refusal is an
 * error for that subscription; the connection stays usable), and events come from the hub. A
 * message may be as large as an HTTP body; a connection ends when its token expires.
 */
export function attachSubscriptions(options: SubscriptionServerOptions) {
  const { schema, hub, log } = options;
  // ws closes a connection whose message exceeds maxPayload (1009) before reading it whole.
  const wss = new WebSocketServer({ server: options.httpServer, path: '/graphql', maxPayload: MAX_REQUEST_BYTES });
  const prepared = new WeakMap<ExecutionArgs, Prepared>();
  // Dashboards open the same few documents by the thousand: each is parsed and validated once and
  // its tree shared by every subscription of it (less memory per subscription, less CPU per
  // subscribe). Errors are cached too; the cache is bounded by count and by text, so large or odd
  // documents cannot grow it.
  const checkedDocuments = new LRUCache<string, Checked>({
    max: CHECKED_DOCUMENTS,
    maxSize: CHECKED_DOCUMENT_CHARS,
    sizeCalculation: (_checked, query) => Math.max(1, query.length),
  });
  const check = (query: string): Checked => {
    let checked = checkedDocuments.get(query);
    if (!checked) {
      try {
        const document = options.documents.parse(query);
        const errors = options.documents.validate(schema, document);
        checked = errors.length > 0 ? { errors } : { document };
      } catch (error) {
        if (!(error instanceof GraphQLError)) throw error;
        checked = { errors: [asSubscriptionError(error)] };
      }
      checkedDocuments.set(query, checked);
    }
    return checked;
  };

  const server = useServer<Record<string, unknown> | undefined, Extra>(
    {
      schema,
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        try {
          const { identity, expiresAt } = await options.authenticate({
            authorization: typeof params.authorization === 'string' ? params.authorization : undefined,
            apiKey: typeof params['x-api-key'] === 'string' ? params['x-api-key'] : undefined,
          });
          ctx.extra.identity = identity;
          if (expiresAt !== undefined) closeWhenExpired(ctx.extra.socket, expiresAt);
          return true;
        } catch (error) {
          const message = error instanceof DomainError ? error.message : 'Authentication failed';
          ctx.extra.socket.close(CloseCode.Unauthorized, `Unauthorized: ${message}`);
          return false;
        }
      },
      onSubscribe: async (ctx, _id, payload) => {
        const identity = ctx.extra.identity!;
        try {
          await options.rateLimit(identity);
        } catch (error) {
          if (error instanceof GraphQLError) return [asSubscriptionError(error)];
          throw error;
        }
        const checked = check(payload.query);
        if (checked.errors) return checked.errors;
        const { document } = checked;
        const operations = document.definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
        const operation = payload.operationName ? operations.find((o) => o.name?.value === payload.operationName) : operations[0];
        if (!operation || operation.operation !== OperationTypeNode.SUBSCRIPTION || operations.length > 1 && !payload.operationName) {
          return [new GraphQLError('Send one subscription operation over this connection; queries and mutations go over HTTP', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        const fields = operation.selectionSet.selections;
        const root = fields[0];
        if (fields.length !== 1 || root?.kind !== Kind.FIELD) {
          return [new GraphQLError('A subscription selects exactly one event field', { extensions: { code: 'BAD_USER_INPUT' } })];
        }
        const field = root.name.value as EventField;
        const variables = (payload.variables ?? {});
        try {
          const definition = schema.getSubscriptionType()!.getFields()[field]!;
          const args = getArgumentValues(definition, root, variables) as { memberId?: string | null };
          const requested = args.memberId ? parseId(args.memberId, 'memberId') : null;
          const memberId = authorize(identity, field, requested);
          const scope = JSON.stringify([identity.tenant, identity.roles, identity.memberId ?? null]);
          const execution: EventExecution = { document, variables, identity, scope };
          // Same document, variables and identity scope: one execution per event for all of them.
          const key = createHash('sha256').update(JSON.stringify([payload.query, variables, scope])).digest('hex');
          const args_: ExecutionArgs = { schema, document, variableValues: variables, operationName: payload.operationName ?? undefined };
          prepared.set(args_, { field, memberId, execution, key, socket: ctx.extra.socket });
          return args_;
        } catch (error) {
          if (error instanceof DomainError) return [asGraphQLError(error)];
          if (error instanceof GraphQLError) return [new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT' } })];
          throw error;
        }
      },
      subscribe: (args) => {
        const subscription = prepared.get(args)!;
        const identity = subscription.execution.identity;
        let remove = () => {};
        const { iterator, push } = boundedStream<ExecutionResult>(
          options.bufferLimit,
          () => {
            log.warn({ tenant: identity.tenant, principal: identity.principal }, 'closing a slow subscriber');
            subscription.socket.close(SLOW_SUBSCRIBER.code, SLOW_SUBSCRIBER.reason);
          },
          () => remove(),
        );
        remove = hub.add({
          tenant: identity.tenant,
          field: subscription.field,
          memberId: subscription.memberId,
          key: subscription.key,
          execution: subscription.execution,
          push,
        });
        return iterator;
      },
    },
    wss,
  );

  return {
    close: async () => {
      for (const client of wss.clients) client.close(1001, 'Gateway shutting down');
      await server.dispose();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    },
  };
}
