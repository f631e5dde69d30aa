import type { Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { DataSource, EntitySchema, MixedList } from 'typeorm';
import { parseEnv, resolveSecret, siblingDatabaseUrl, subgraphEnv } from './config';
import { connectAndMigrate, createDataSource } from './db';
import type { EventBus } from './events/bus';
import { startOutboxRelay, type OutboxRelay } from './events/outbox';
import { PostgresEventBus } from './events/postgres-bus';
import { createLogger, type Logger } from './logger';
import { createMetrics } from './metrics';
import { closeOnSignals, startSubgraphServer, type RequestContext, type RunningServer } from './server';

export interface SubgraphDeps {
  db: DataSource;
  /** Base URL of the members subgraph, for the internal ledger API. */
  membersUrl: string;
  bus: EventBus;
  log: Logger;
  env: NodeJS.ProcessEnv;
  serviceSecret: string;
}

export interface SubgraphDefinition<TServices, TContext extends RequestContext> {
  name: string;
  defaultPort: number;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  entities: MixedList<Function | string | EntitySchema>;
  // eslint-disable-next-line @typescript-eslint/no-unsafe-function-type
  migrations: MixedList<Function | string>;
  buildSchema: () => Promise<GraphQLSchema>;
  createServices: (deps: SubgraphDeps) => TServices | Promise<TServices>;
  createContext: (base: RequestContext, services: TServices) => TContext;
  internalRoutes?: (router: Router, services: TServices) => void;
  /** Runs after migrations, before serving (demo data, background jobs); may return how to stop. */
  onStart?: (services: TServices, deps: SubgraphDeps) => Promise<void | (() => Promise<void>)>;
  /** Whether this subgraph writes an outbox to relay to the event bus. */
  outbox?: boolean;
}

/**
 * The composition root every subgraph shares: typed config from the environment, its database
 * (created and migrated), the event bus, its services, the HTTP server, and a clean shutdown.
 */
export async function runSubgraph<TServices, TContext extends RequestContext>(
  definition: SubgraphDefinition<TServices, TContext>,
  env: NodeJS.ProcessEnv,
): Promise<RunningServer> {
  const raw = parseEnv(subgraphEnv(definition.defaultPort, `loyalty_${definition.name}`), env);
  const production = raw.NODE_ENV === 'production';
  const serviceSecret = resolveSecret('SERVICE_SECRET', raw.SERVICE_SECRET, { production, dataDir: raw.DATA_DIR });
  const log = createLogger(definition.name, raw.LOG_LEVEL);
  const metrics = createMetrics(definition.name);

  const db = await connectAndMigrate(
    createDataSource({
      url: raw.DATABASE_URL,
      poolSize: raw.DATABASE_POOL_SIZE,
      entities: definition.entities,
      migrations: definition.migrations,
      log,
      metrics,
    }),
    raw.DATABASE_URL,
  );
  const bus = await PostgresEventBus.connect(raw.EVENT_BUS_URL ?? siblingDatabaseUrl(raw.DATABASE_URL, 'loyalty_events'));
  const deps: SubgraphDeps = { db, bus, log, env, serviceSecret, membersUrl: raw.MEMBERS_URL };
  const services = await definition.createServices(deps);
  const stopBackground = await definition.onStart?.(services, deps);

  const relay: OutboxRelay | undefined = definition.outbox
    ? startOutboxRelay({ source: definition.name, dataSource: db, databaseUrl: raw.DATABASE_URL, bus, log })
    : undefined;
  const server = await startSubgraphServer<TContext>({
    name: definition.name,
    schema: await definition.buildSchema(),
    host: raw.HOST,
    port: raw.PORT,
    serviceSecret,
    log,
    metrics,
    createContext: (base) => definition.createContext(base, services),
    healthCheck: async () => {
      await db.query('SELECT 1');
    },
    internalRoutes: definition.internalRoutes ? (router) => definition.internalRoutes!(router, services) : undefined,
  });

  closeOnSignals(log, async () => {
    await server.close();
    if (stopBackground) await stopBackground();
    await relay?.stop();
    await bus.close();
    await db.destroy();
  });
  return server;
}

/** Entry point helper: run, or print why not and exit non-zero. */
export function main(run: () => Promise<unknown>): void {
  run().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
