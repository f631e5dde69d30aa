import { RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { IDENTITY_HEADER, REQUEST_ID_HEADER, isExpected, type HttpClient, type Identity } from '@loyalty/kit';

export interface GatewayContext {
  identity: Identity;
  requestId: string;
}

type FetcherResponse = Parameters<RemoteGraphQLDataSource['errorFromResponse']>[0];

/**
 * A subgraph fetch that carries the verified identity (signed with the service secret) and the
 * request id, and that keeps a subgraph's own error (code and field) when it answers non-2xx —
 * e.g. 400 for a variable the subgraph's scalar refused — instead of a bare "400: Bad Request".
 */
export class SubgraphDataSource extends RemoteGraphQLDataSource<GatewayContext> {
  constructor(
    url: string,
    private readonly sign: (identity: Identity) => Promise<string>,
    fetcher: HttpClient,
  ) {
    super({ url, fetcher: fetcher as unknown as RemoteGraphQLDataSource['fetcher'] });
  }

  override async willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<GatewayContext>): Promise<void> {
    if (!('identity' in context)) return;
    request.http?.headers.set(IDENTITY_HEADER, await this.sign(context.identity));
    request.http?.headers.set(REQUEST_ID_HEADER, context.requestId);
  }

  override async errorFromResponse(response: FetcherResponse): Promise<GraphQLError> {
    const fallback = await super.errorFromResponse(response);
    const body = (fallback.extensions.response as { body?: { errors?: { message: string; extensions?: Record<string, unknown> }[] } }).body;
    const first = typeof body === 'object' ? body?.errors?.[0] : undefined;
    if (first && isExpected(first)) return new GraphQLError(first.message, { extensions: first.extensions });
    return fallback;
  }
}
