// Hive Gateway's runtime (@graphql-hive/gateway) on a plain Node HTTP server over the committed
// supergraph: the defaults, plus the identity header the subgraphs need. DEDUPLICATE=false turns
// off its merging of identical in-flight subgraph fetches (on by default): every request of a
// bench phase is the same query with the same variables, which would otherwise share fetches.
import { createServer } from 'node:http';
import { createGatewayRuntime } from '@graphql-hive/gateway';
import { IDENTITY_HEADER, identityCredential, settings } from './common.mjs';

const credential = await identityCredential();
const deduplicate = process.env.DEDUPLICATE !== 'false';

const gateway = createGatewayRuntime({
  supergraph: settings.supergraphSdl,
  transportEntries: {
    ...Object.fromEntries(Object.entries(settings.subgraphs).map(([name, url]) => [name, { location: `${url}/graphql` }])),
    ...(deduplicate ? {} : { '*': { options: { deduplicateInflightRequests: false } } }),
  },
  propagateHeaders: { fromClientToSubgraphs: () => ({ [IDENTITY_HEADER]: credential() }) },
  logging: 'warn',
});
createServer(gateway).listen(settings.port, '127.0.0.1', () => {
  console.log(`Hive Gateway ready at http://127.0.0.1:${settings.port}/graphql (deduplicate in-flight requests: ${deduplicate})`);
});
