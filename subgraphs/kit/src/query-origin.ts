import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The origin of the statements sent inside it (e.g. `job`): background work counts apart from
 * requests in `db_queries_total`, so a job running alongside does not blur a request's count.
 * Its own module, free of TypeORM: the gateway runs jobs too and loads none of the database side.
 */
export const queryOrigin = new AsyncLocalStorage<string>();
