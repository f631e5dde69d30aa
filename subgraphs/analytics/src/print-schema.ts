import 'reflect-metadata';
import { printSubgraphSdl } from '@loyalty/kit';
import { buildAnalyticsSchema } from './schema';

/** Prints this subgraph's SDL to stdout, with no database or server (used by scripts/schema.mjs). */
buildAnalyticsSchema()
  .then((schema) => process.stdout.write(printSubgraphSdl(schema)))
  .catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
