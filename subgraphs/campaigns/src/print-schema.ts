import 'reflect-metadata';
import { printSubgraphSdl } from '@loyalty/kit';
import { buildCampaignsSchema } from './schema';

/** Prints this subgraph's SDL to stdout, with no database or server (used by scripts/schema.mjs). */
buildCampaignsSchema()
  .then((schema) => process.stdout.write(printSubgraphSdl(schema)))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
