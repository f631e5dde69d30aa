import type { Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import type { DataSource, EntitySchema, MixedList } from 'typeorm';
import { resolveSecret, siblingDatabaseUrl, type SubgraphConfig } from './config';
import { connectAndMigrate, createDataSource } from './db';
import type { EventBus } from './events/bus';
import { startOutboxRelay, type OutboxRelay } from './events/outbox';
import { migrateEventBus } from './events/bus-migrations';
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
  serviceSecret: string;
}

export interface SubgraphDefinition<TServices, TContext extends RequestContext> {
  name: string;
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
 * The composition root every subgraph shares: from the config its main.ts parsed, its database
 * (created and migrated), the event bus, its services, the HTTP server, and a clean shutdown.
 * A subgraph's own settings stay in its main.ts, which hands them to its services directly.
 */
export async function runSubgraph<TServices, TContext extends RequestContext>(
  definition: SubgraphDefinition<TServices, TContext>,
  config: SubgraphConfig,
): Promise<RunningServer> {
  const production = config.NODE_ENV === 'production';
  const serviceSecret = resolveSecret('SERVICE_SECRET', config.SERVICE_SECRET, { production, dataDir: config.DATA_DIR });
  const log = createLogger(definition.name, config.LOG_LEVEL);
  const metrics = createMetrics(definition.name);

  const db = await connectAndMigrate(
    createDataSource({
      url: config.DATABASE_URL,
      poolSize: config.DATABASE_POOL_SIZE,
      entities: definition.entities,
      migrations: definition.migrations,
      log,
      metrics,
    }),
    config.DATABASE_URL,
  );
  const busUrl = config.EVENT_BUS_URL ?? siblingDatabaseUrl(config.DATABASE_URL, 'loyalty_events');
  await migrateEventBus(busUrl);
  const bus = await PostgresEventBus.connect(busUrl, log);
  const deps: SubgraphDeps = { db, bus, log, serviceSecret, membersUrl: config.MEMBERS_URL };
  const services = await definition.createServices(deps);
  const stopBackground = await definition.onStart?.(services, deps);

  const relay: OutboxRelay | undefined = definition.outbox
    ? startOutboxRelay({ source: definition.name, dataSource: db, databaseUrl: config.DATABASE_URL, bus, log })
    : undefined;
  const server = await startSubgraphServer<TContext>({
    name: definition.name,
    schema: await definition.buildSchema(),
    host: config.HOST,
    port: config.PORT,
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
