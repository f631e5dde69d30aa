// What the peer gateways of `npm run bench:gateways` share: their settings, passed by the bench in
// the environment, and the identity header every subgraph requires.
import { readFileSync } from 'node:fs';
import kit from '@loyalty/kit';

export const { IDENTITY_HEADER } = kit;

export const settings = {
  port: Number(process.env.PORT),
  supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH, 'utf8'),
  /** subgraph name → base URL (the committed supergraph names docker-compose hosts) */
  subgraphs: JSON.parse(process.env.SUBGRAPH_URLS),
};

/**
 * A peer verifies nothing itself: every subgraph request carries one fixed identity (the bench
 * tenant's admin, BENCH_IDENTITY), signed with SERVICE_SECRET as our gateway signs a verified one.
 * The credential expires after 60 s, so it is signed again every 20 s; the header value is read
 * per request and never older than that.
 */
export async function identityCredential() {
  const identity = JSON.parse(process.env.BENCH_IDENTITY);
  const sign = () => kit.signIdentity(identity, process.env.SERVICE_SECRET);
  let token = await sign();
  setInterval(() => {
    sign().then(
      (fresh) => (token = fresh),
      (error) => console.error('signing the identity failed:', error),
    );
  }, 20_000).unref();
  return () => token;
}

// Started by the bench with an IPC channel: when the bench goes away, even by SIGKILL, so does this.
// A peer holds nothing worth a graceful shutdown (Hive's own SIGTERM handling waits on open
// connections), so SIGTERM ends it at once.
process.on('disconnect', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
