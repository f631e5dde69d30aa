import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import cors from 'cors';
import express from 'express';
import { Counter } from 'prom-client';
import {
  REQUEST_ID_HEADER,
  PostgresEventBus,
  closeOnSignals,
  createHttpClient,
  createLogger,
  createMetrics,
  FiniteNumberLiterals,
  errorLogging,
  formatError,
  httpErrorHandler,
  jsonBody,
  notFound,
  routeLabel,
  storableTextOnly,
  type Identity,
} from '@loyalty/kit/core';
import { asHttpError, createAuthenticator, createIdentitySigner } from './authenticate';
import { loadConfig, type GatewayConfig } from './config';
import { httpSemantics } from './http-semantics';
import { MAX_REQUEST_BYTES, RATE_LIMIT_HEADERS, createRateLimit, documentLimits, operationLimits, rateLimitHeaders, tokenLimit } from './limits';
import type { SubgraphFetch } from './subscriptions/entities';
import { createEventResolver } from './subscriptions/event-resolver';
import { SubscriptionHub } from './subscriptions/hub';
import { attachSubscriptions } from './subscriptions/server';
import { SupergraphEntities } from './subscriptions/supergraph';
import { SubgraphDataSource, type GatewayContext } from './subgraph-data-source';

/** The one public endpoint: /graphql over the committed supergraph, /health, /metrics. */
export async function startGateway(config: GatewayConfig) {
  const log = createLogger('gateway', config.logLevel);
  const metrics = createMetrics('gateway');
  // Boot from the committed supergraph, never by introspecting running subgraphs; fail fast without it.
  const supergraphSdl = readFileSync(config.supergraphPath, 'utf8');
  const signIdentityHeader = createIdentitySigner(config.serviceSecret);
  const authenticate = createAuthenticator(config);
  const fetcher = createHttpClient(config.subgraphTimeoutMs);

  const merged = new Counter({
    name: 'subgraph_fetches_merged_total',
    help: 'Subgraph queries not sent because an identical one of the same identity was in flight',
    labelNames: ['subgraph'],
    registers: [metrics.registry],
  });
  const dataSources = new Map<string, SubgraphDataSource>();
  const dataSource = (name: string) => {
    const base = config.subgraphs[name];
    if (!base) throw new Error(`No URL configured for subgraph ${name}`);
    const source = dataSources.get(name) ?? new SubgraphDataSource(`${base}/graphql`, signIdentityHeader, fetcher, () => merged.inc({ subgraph: name }));
    dataSources.set(name, source);
    return source;
  };
  const gateway = new ApolloGateway({
    supergraphSdl,
    buildService: ({ name }) => dataSource(name),
    // Each subgraph fetch carries its parsed operation, so the data source can tell a query (which
    // identical ones in flight may share) from a mutation (never shared).
    queryPlannerConfig: { exposeDocumentNodeInFetchNode: true },
  });

  const app = express();
  app.disable('x-powered-by');
  const httpServer = createServer(app);

  app.use((req, res, next) => {
    const requestId = req.header(REQUEST_ID_HEADER) ?? randomUUID();
    res.setHeader(REQUEST_ID_HEADER, requestId);
    req.requestId = requestId;
    const end = metrics.httpDuration.startTimer({ route: routeLabel(req.path) });
    res.on('finish', () => end({ status: res.statusCode }));
    next();
  });

  app.get('/health', async (_req, res) => {
    const checks = await Promise.all(
      Object.entries(config.subgraphs).map(async ([name, url]) => {
        const ok = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) })
          .then((r) => r.ok)
          .catch(() => false);
        return [name, ok ? 'ok' : 'unavailable'] as const;
      }),
    );
    const healthy = checks.every(([, status]) => status === 'ok');
    res.status(healthy ? 200 : 503).json({ status: healthy ? 'ok' : 'unavailable', subgraphs: Object.fromEntries(checks) });
  });
  // The program dashboard: static files served here, so it works without any CDN.
  const publicDir = join(__dirname, '..', 'public');
  app.get('/dashboard', (_req, res) => res.sendFile(join(publicDir, 'dashboard.html')));
  const graphqlWsBrowserBuild = join(dirname(require.resolve('graphql-ws')), '..', 'umd', 'graphql-ws.min.js');
  app.get('/dashboard/graphql-ws.js', (_req, res) => res.sendFile(graphqlWsBrowserBuild));
  app.use('/dashboard', express.static(publicDir, { index: false }));

  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  const limits = operationLimits(config);
  const rateLimit = createRateLimit(config);
  const apollo = new ApolloServer<GatewayContext>({
    gateway,
    validationRules: [...limits.validationRules, FiniteNumberLiterals],
    parseOptions: tokenLimit(config),
    allowBatchedHttpRequests: false,
    introspection: config.introspection,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (closeOnSignals): Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    formatError,
    plugins: [
      ApolloServerPluginDrainHttpServer({ httpServer }),
      ApolloServerPluginLandingPageDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ...(limits.plugins as ApolloServerPlugin<GatewayContext>[]),
      httpSemantics<GatewayContext>(),
      storableTextOnly<GatewayContext>(),
      errorLogging(log),
    ],
  });
  await apollo.start();

  // Subscriptions: events from the bus, their entities fetched from the subgraphs the supergraph names.
  const bus = await PostgresEventBus.connect(config.eventBusUrl, log);
  const apiSchema = gateway.schema;
  if (!apiSchema) throw new Error('the gateway has no schema after start');
  const fetchFromSubgraph: SubgraphFetch = (name, request, identity) => dataSource(name).fetch(request, { identity, requestId: randomUUID() });
  const hub = new SubscriptionHub(bus, createEventResolver(apiSchema, new SupergraphEntities(supergraphSdl), fetchFromSubgraph), log, metrics.registry);
  await hub.start();
  const subscriptions = attachSubscriptions({
    httpServer,
    schema: apiSchema,
    hub,
    authenticate,
    rateLimit,
    documents: documentLimits(config, limits.validationRules),
    log,
    bufferLimit: config.subscriptionBufferLimit,
  });

  app.use(
    '/graphql',
    // Only listed origins get CORS headers; any other cross-origin request still meets Apollo's
    // CSRF prevention (a simple request without a preflight-forcing header is refused).
    cors({
      origin: config.corsOrigins,
      methods: ['GET', 'POST'],
      allowedHeaders: ['content-type', 'authorization', 'x-api-key', REQUEST_ID_HEADER, 'apollo-require-preflight'],
      exposedHeaders: [REQUEST_ID_HEADER, ...RATE_LIMIT_HEADERS],
      maxAge: 600,
    }),
    ...jsonBody(MAX_REQUEST_BYTES, log),
    expressMiddleware(apollo, {
      context: async ({ req, res }) => {
        let identity: Identity;
        try {
          ({ identity } = await authenticate({ authorization: req.header('authorization'), apiKey: req.header('x-api-key') }));
        } catch (error) {
          throw asHttpError(error);
        }
        const budget = await rateLimit(identity);
        if (budget) for (const [name, value] of rateLimitHeaders(budget)) res.setHeader(name, value);
        return { identity, requestId: req.requestId! };
      },
    }),
  );

  app.use(notFound, httpErrorHandler(log));

  await new Promise<void>((resolve) => httpServer.listen(config.port, config.host, resolve));
  const { port } = httpServer.address() as AddressInfo;
  log.info({ url: `http://${config.host}:${port}/graphql` }, 'gateway ready');
  return {
    port,
    log,
    close: async () => {
      await subscriptions.close();
      await hub.stop();
      await apollo.stop();
      await bus.close();
    },
  };
}

if (require.main === module) {
  startGateway(loadConfig(process.env))
    .then((gateway) => closeOnSignals(gateway.log, gateway.close))
    .catch((error: unknown) => {
      console.error(error);
      process.exit(1);
    });
}
