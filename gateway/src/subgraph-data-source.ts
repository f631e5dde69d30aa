import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError, Kind, OperationTypeNode, type DocumentNode } from 'graphql';
import { IDENTITY_HEADER, REQUEST_ID_HEADER, ServiceUnavailableError, isExpected, type HttpClient, type Identity } from '@loyalty/kit/core';

export interface GatewayContext {
  identity: Identity;
  requestId: string;
}

const isGatewayContext = (context: object): context is GatewayContext => 'identity' in context && 'requestId' in context;

type FetcherResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];
type Response = Awaited<ReturnType<RemoteGraphQLDataSource['process']>>;

/** A fetch in flight that identical ones join: how many waiters it has by the time it settles. */
interface InFlight {
  response: Promise<Response>;
  waiters: number;
}

/** Only a query may be shared: a mutation (or anything the planner did not hand us as a document) is sent as asked. */
function isQuery(document: DocumentNode | undefined): boolean {
  if (!document) return false;
  return document.definitions.every((definition) => definition.kind !== Kind.OPERATION_DEFINITION || definition.operation === OperationTypeNode.QUERY);
}

/** A waiter's own copy of a shared answer: the HTTP part is only read, the rest the gateway may change. */
function copyResponse(response: Response): Response {
  const { http, ...body } = response;
  return { ...structuredClone(body), http };
}

/** A waiter's own copy of a shared failure (its extensions deep), so no request's error handling touches another's. */
function copyError(error: unknown): unknown {
  if (!(error instanceof Error)) return error;
  const copy = Object.create(Object.getPrototypeOf(error) as object) as Error;
  for (const [name, descriptor] of Object.entries(Object.getOwnPropertyDescriptors(error))) {
    Object.defineProperty(copy, name, name === 'extensions' ? { ...descriptor, value: structuredClone(descriptor.value) } : descriptor);
  }
  return copy;
}

/** undici and Node socket errors that mean "no answer from the subgraph", never "a wrong answer". */
const UNREACHABLE = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EPIPE',
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

function isUnreachable(error: unknown): boolean {
  for (let cause = error; cause instanceof Error; cause = cause.cause) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === 'string' && UNREACHABLE.has(code)) return true;
    // Node reports a refused connection to every address of a host as one AggregateError.
    if (cause instanceof AggregateError && cause.errors.some(isUnreachable)) return true;
  }
  return false;
}

/**
 * A subgraph fetch that carries the verified identity (signed with the service secret) and the
 * request id, and that keeps a subgraph's own error (code and field) when it answers non-2xx —
 * e.g. 400 for a variable the subgraph's scalar refused — instead of a bare "400: Bad Request".
 * A subgraph that does not answer (refused, reset, timed out, or a 502/503/504 from in front of it)
 * is SERVICE_UNAVAILABLE: retryable, and never mistaken for a bug.
 *
 * Identical queries in flight at the same time are sent once: same subgraph, same signed identity
 * (tenant, principal, roles, scopes), same query text and variables. Every waiter gets its own copy
 * of the answer (or of the error); the entry is gone once the fetch settles, so nothing is cached.
 * Mutations are never merged.
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  private readonly inFlight = new Map<string, InFlight>();

  constructor(
    url: string,
    private readonly sign: (identity: Identity) => Promise<string>,
    fetcher: HttpClient,
    /** Called for each fetch that joined an identical one instead of being sent. */
    private readonly onMerged: () => void = () => undefined,
  ) {
    super({ url, fetcher: fetcher as unknown as RemoteGraphQLDataSource['fetcher'] });
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    // Apollo's own requests (health checks) carry no request context.
    if (!isGatewayContext(context)) return;
    request.http?.headers.set(IDENTITY_HEADER, await this.sign(context.identity));
    request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
  }

  override async process(options: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<Response> {
    const { request, context } = options;
    const document = 'document' in options ? options.document : undefined;
    if (!isGatewayContext(context) || !request.query || !isQuery(document)) return super.process(options);
    const key = `${this.url}\n${await this.sign(context.identity)}\n${request.query}\n${JSON.stringify(request.variables ?? {})}`;
    let shared = this.inFlight.get(key);
    if (shared) {
      shared.waiters++;
      this.onMerged();
    } else {
      const entry: InFlight = { response: super.process(options), waiters: 1 };
      const settled = () => void this.inFlight.delete(key);
      entry.response.then(settled, settled);
      this.inFlight.set(key, entry);
      shared = entry;
    }
    const entry = shared;
    // Alone: the answer as it came. Shared: nobody gets the original, so no waiter sees another's changes.
    return entry.response.then(
      (response) => (entry.waiters === 1 ? response : copyResponse(response)),
      (error: unknown) => {
        throw entry.waiters === 1 ? error : copyError(error);
      },
    );
  }

  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const fallback = await super.errorFromResponse(response);
    const body = (fallback.extensions.response as { body?: { errors?: { message: string; extensions?: Record<string, unknown> }[] } }).body;
    const first = typeof body === 'object' ? body?.errors?.[0] : undefined;
    if (first && isExpected(first)) return new GraphQLError(first.message, { extensions: first.extensions });
    if ([502, 503, 504].includes(response.status)) return new ServiceUnavailableError();
    return fallback;
  }

  /**
   * A request of the gateway's own (subscriptions' entity fetches), outside any incoming operation:
   * signed, timed out and its failures classified as the query planner's fetches are.
   */
  fetch(request: { query: string; variables: Record<string, unknown> }, context: GatewayContext) {
    type Incoming = Extract<GraphQLDataSourceProcessOptions<GatewayContext>, { incomingRequestContext: unknown }>;
    // @apollo/gateway does not export the kind's enum; its value is this string.
    const kind = 'incoming operation' as Incoming['kind'];
    // No incoming request: no cache policy to restrict with the subgraph's answer.
    const incomingRequestContext = { request, context } as unknown as Incoming['incomingRequestContext'];
    return this.process({ kind, request, context, incomingRequestContext });
  }

  override didEncounterError(error: Error): void {
    if (isUnreachable(error)) throw new ServiceUnavailableError();
    throw error;
  }
}
