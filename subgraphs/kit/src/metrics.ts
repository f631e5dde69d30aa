import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface Metrics {
  registry: Registry;
  httpDuration: Histogram<'route' | 'status'>;
  dbQueries: Counter<'kind' | 'origin'>;
}

/** One Prometheus registry per process, served on `/metrics`. */
export function createMetrics(service: string): Metrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds',
      help: 'HTTP request duration by route and status',
      labelNames: ['route', 'status'],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
    dbQueries: new Counter({
      name: 'db_queries_total',
      help: 'SQL statements sent to PostgreSQL, by statement kind and origin (request or background job)',
      labelNames: ['kind', 'origin'],
      registers: [registry],
    }),
  };
}

/** A bounded route label, read before routing strips mount prefixes: unknown paths never add series. */
export function routeLabel(path: string): string {
  if (path === '/graphql' || path === '/health' || path === '/metrics') return path;
  return path.startsWith('/internal/') ? '/internal' : 'other';
}
