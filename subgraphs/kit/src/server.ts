import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginDrainHttpServer } from '@apollo/server/plugin/drainHttpServer';
import { ApolloServerPluginCacheControlDisabled, ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { expressMiddleware } from '@as-integrations/express5';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { GraphQLSchema } from 'graphql';
import { DomainError, UnauthenticatedError, ForbiddenError, errorLogging, formatError } from './errors';
import { httpErrorHandler, jsonBody, notFound } from './http-edge';
import { FiniteNumberLiterals, storableTextOnly } from './input-guard';
import { IDENTITY_HEADER, createIdentityVerifier, type Identity } from './identity';
import type { Logger } from './logger';
import { routeLabel, type Metrics } from './metrics';

export const REQUEST_ID_HEADER = 'x-request-id';

/** What every resolver receives. Subgraphs extend it with their per-request loaders. */
export interface RequestContext {
  identity: Identity;
  requestId: string;
  log: Logger;
}

export interface SubgraphServerOptions<TContext extends RequestContext> {
  name: string;
  schema: GraphQLSchema;
  host: string;
  port: number;
  serviceSecret: string;
  log: Logger;
  metrics: Metrics;
  /** Builds the per-request context (fresh DataLoaders every time). */
  createContext: (base: RequestContext) => TContext;
  /** Throws when the service cannot serve (e.g. its database is unreachable). */
  healthCheck: () => Promise<void>;
  /** Service-to-service routes under `/internal`, reachable only with a `service` credential. */
  internalRoutes?: (router: Router) => void;
}

export interface RunningServer {
  url: string;
  port: number;
  close: () => Promise<void>;
}

declare module 'express-serve-static-core' {
  interface Request {
    identity?: Identity;
    requestId?: string;
  }
}

function sendError(res: Response, status: number, error: DomainError): void {
  res.status(status).json({ errors: [{ message: error.message, extensions: error.extensions }] });
}

/** Refuses any request that does not carry a valid service credential (the gateway's or a service's). */
function requireCredential(verify: (token: string) => Promise<Identity>) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const token = req.header(IDENTITY_HEADER);
    try {
      if (!token) throw new UnauthenticatedError('Missing service credential');
      req.identity = await verify(token);
      next();
    } catch (error) {
      sendError(res, 401, error instanceof DomainError ? error : new UnauthenticatedError());
    }
  };
}

/**
 * A subgraph's HTTP surface: `/graphql` behind the gateway credential, `/internal/*` for services,
 * `/health` and `/metrics`. Returns once listening.
 */
export async function startSubgraphServer<TContext extends RequestContext>(
  options: SubgraphServerOptions<TContext>,
): Promise<RunningServer> {
  const { log, metrics } = options;
  const app = express();
  app.disable('x-powered-by');
  const httpServer: Server = createServer(app);
  // Gateways keep pools of idle connections to a subgraph (undici, agentkeepalive): a server that
  // closes an idle socket sooner than they drop it races their next request on it ("socket hang
  // up"). Hold idle sockets longer than any such client does, as behind a load balancer.
  httpServer.keepAliveTimeout = 65_000;
  httpServer.headersTimeout = 66_000;
  const verifyCredential = createIdentityVerifier(options.serviceSecret);

  app.use((req, res, next) => {
    req.requestId = req.header(REQUEST_ID_HEADER) ?? randomUUID();
    const end = metrics.httpDuration.startTimer({ route: routeLabel(req.path) });
    res.on('finish', () => end({ status: res.statusCode }));
    next();
  });

  app.get('/health', async (_req, res) => {
    try {
      await options.healthCheck();
      res.json({ status: 'ok', service: options.name });
    } catch (error) {
      log.warn({ err: error }, 'health check failed');
      res.status(503).json({ status: 'unavailable', service: options.name });
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(options.metrics.registry.contentType).send(await options.metrics.registry.metrics());
  });

  if (options.internalRoutes) {
    const router = express.Router();
    router.use(requireCredential(verifyCredential), (req, res, next) => {
      if (req.identity?.roles.includes('service')) next();
      else sendError(res, 403, new ForbiddenError('Internal routes are for services'));
    });
    router.use(express.json({ limit: '64kb' }));
    options.internalRoutes(router);
    router.use((error: unknown, req: Request, res: Response, _next: NextFunction) => {
      if (error instanceof DomainError) {
        const status = error.code === 'NOT_FOUND' ? 404 : error.code === 'FORBIDDEN' ? 403 : 422;
        res.status(status).json({ error: { code: error.code, message: error.message, field: error.field } });
        return;
      }
      const status = (error as { status?: unknown }).status;
      if (typeof status === 'number' && status >= 400 && status < 500) {
        // A body the JSON parser refused: the calling service's mistake, in this router's error shape.
        res.status(status).json({ error: { code: 'BAD_USER_INPUT', message: 'The request body could not be read' } });
        return;
      }
      log.error({ err: error, requestId: req.requestId }, 'internal route failed');
      res.status(500).json({ error: { code: 'INTERNAL_SERVER_ERROR', message: 'Internal server error' } });
    });
    app.use('/internal', router);
  }

  const apollo = new ApolloServer<TContext>({
    schema: options.schema,
    validationRules: [FiniteNumberLiterals],
    introspection: true,
    includeStacktraceInErrorResponses: false,
    // Shutdown is ours (closeOnSignals): Apollo's own signal handlers would race it.
    stopOnTerminationSignals: false,
    plugins: [
      ApolloServerPluginInlineTraceDisabled(),
      ApolloServerPluginCacheControlDisabled(),
      ApolloServerPluginDrainHttpServer({ httpServer }),
      storableTextOnly<TContext>(),
      errorLogging(log),
    ],
    formatError,
  });
  await apollo.start();

  app.use(
    '/graphql',
    requireCredential(verifyCredential),
    ...jsonBody('1mb', log),
    expressMiddleware(apollo, {
      context: async ({ req }) =>
        options.createContext({
          // A copy per request: verified identities are cached and shared between requests.
          identity: { ...req.identity!, requestId: req.requestId },
          requestId: req.requestId!,
          log: log.child({ requestId: req.requestId }),
        }),
    }),
  );

  app.use(notFound, httpErrorHandler(log));

  await new Promise<void>((resolve) => httpServer.listen(options.port, options.host, resolve));
  const { port } = httpServer.address() as AddressInfo;
  const url = `http://${options.host}:${port}`;
  log.info({ url: `${url}/graphql` }, `${options.name} subgraph ready`);
  return {
    url,
    port,
    close: async () => {
      await apollo.stop();
    },
  };
}

/** Stops the process cleanly on SIGINT/SIGTERM: servers first, then whatever else was opened. */
export function closeOnSignals(log: Logger, close: () => Promise<void>): void {
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    log.info({ signal }, 'shutting down');
    close()
      .then(() => process.exit(0))
      .catch((error: unknown) => {
        log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Started by a launcher with an IPC channel (npm start, npm test): stop when it goes away, so a
  // hard-killed launcher leaves no orphan holding the ports.
  if (process.send) process.on('disconnect', () => stop('launcher exited'));
}
