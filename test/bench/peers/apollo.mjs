// Stock @apollo/gateway + @apollo/server (standalone) over the committed supergraph: the defaults,
// plus what the subgraphs need to answer at all, the identity header.
import { ApolloGateway, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { IDENTITY_HEADER, identityCredential, settings } from './common.mjs';

const credential = await identityCredential();

class IdentityDataSource extends RemoteGraphQLDataSource {
  willSendRequest({ request }) {
    request.http?.headers.set(IDENTITY_HEADER, credential());
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: settings.supergraphSdl,
  buildService: ({ name }) => new IdentityDataSource({ url: `${settings.subgraphs[name]}/graphql` }),
});
const server = new ApolloServer({ gateway });
const { url } = await startStandaloneServer(server, { listen: { host: '127.0.0.1', port: settings.port } });
console.log(`stock Apollo gateway ready at ${url}`);
