import DataLoader from 'dataloader';
import { DomainError, NotFoundError, ServiceUnavailableError, type ErrorCode } from './errors';
import { ttlCache } from './cache';
import { createHttpClient, type HttpClient } from './http';
import { IDENTITY_HEADER, serviceIdentity, signIdentity } from './identity';
import { inKeyOrder } from './key-order';
import { reverseOrderResult, type CreditRequest, type DebitRequest, type LedgerTransaction, type MemberSnapshot, type ReverseOrderRequest, type ReverseOrderResult } from './ledger-api';

/** The client of the internal ledger API; its requests and replies are the schemas of ledger-api.ts. */
export interface LedgerClient {
  credit(request: CreditRequest): Promise<LedgerTransaction>;
  debit(request: DebitRequest): Promise<LedgerTransaction>;
  /** A return: takes back points an order earned (pending first, then spendable down to 0). */
  reverseOrder(request: ReverseOrderRequest): Promise<ReverseOrderResult>;
  /** The transaction recorded under an idempotency key, or null: how a recovery job learns what happened. */
  findByKey(tenant: string, idempotencyKey: string): Promise<LedgerTransaction | null>;
  /** Snapshots of members of the tenant; unknown ids are left out. */
  members(tenant: string, ids: readonly string[]): Promise<MemberSnapshot[]>;
  /** The sum of the tenant's balances (what reports of outstanding points must equal). */
  outstanding(tenant: string): Promise<number>;
  /** The ids among `ids` that name segments of the tenant. */
  knownSegments(tenant: string, ids: readonly string[]): Promise<string[]>;
}

/** A failure that did not come from the ledger's rules: network, timeout, 5xx. Safe to retry with the same key. */
export class LedgerUnavailableError extends Error {}

export interface LedgerClientOptions {
  /** Base URL of the members subgraph, e.g. http://127.0.0.1:4001 */
  url: string;
  serviceSecret: string;
  /** Who is calling, e.g. "campaigns". */
  service: string;
  timeoutMs?: number;
}

interface Reply {
  outstanding?: number;
  transaction?: LedgerTransaction;
  members?: MemberSnapshot[];
  known?: string[];
  error?: { code: ErrorCode; message: string; field?: string };
}

/**
 * Calls another service's internal API as `service` on behalf of a tenant: a signed service
 * credential per tenant (reused while fresh, so the callee verifies it once), JSON both ways. A
 * GET's 404 is null; a refusal by the callee's rules is its DomainError; anything else
 * (network, timeout, 5xx) is `unavailable`, which is safe to retry.
 */
export function createServiceCaller(options: LedgerClientOptions, unavailable: (message: string) => Error = (m) => new LedgerUnavailableError(m)) {
  const http = createHttpClient(options.timeoutMs ?? 5000);
  const credentials = ttlCache<Promise<string>>(30_000);
  const credential = (tenant: string) => {
    let signed = credentials.get(tenant);
    if (!signed) {
      signed = signIdentity(serviceIdentity(options.service, tenant), options.serviceSecret);
      credentials.set(tenant, signed);
    }
    return signed;
  };
  return async <T = Reply>(tenant: string, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | null> => {
    let response: Awaited<ReturnType<HttpClient>>;
    try {
      response = await http(`${options.url}/internal${path}`, {
        method,
        headers: { [IDENTITY_HEADER]: await credential(tenant), 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (error) {
      throw unavailable(`internal API unreachable: ${(error as Error).message}`);
    }
    if (response.status === 404 && method === 'GET') return null;
    const json = (await response.json().catch(() => ({}))) as T & Pick<Reply, 'error'>;
    if (response.ok) return json;
    if (json.error && response.status < 500) throw new DomainError(json.error.code, json.error.message, json.error.field);
    throw unavailable(`internal API answered ${response.status}`);
  };
}

/** Reference client for campaigns, rewards and any other service that moves points or reads members. */
export function createLedgerClient(options: LedgerClientOptions): LedgerClient {
  const call = createServiceCaller(options);
  const transaction = (reply: Reply | null) => {
    if (reply && !reply.transaction) throw new LedgerUnavailableError('members answered without a transaction');
    return reply?.transaction ?? null;
  };
  return {
    credit: async ({ tenant, ...body }) => transaction(await call(tenant, 'POST', '/ledger/credit', body))!,
    debit: async ({ tenant, ...body }) => transaction(await call(tenant, 'POST', '/ledger/debit', body))!,
    reverseOrder: async ({ tenant, ...body }) => {
      const parsed = reverseOrderResult.safeParse(await call(tenant, 'POST', '/ledger/reverse-order', body));
      if (!parsed.success) throw new LedgerUnavailableError('members answered a return without its outcome');
      return parsed.data;
    },
    findByKey: async (tenant, key) => transaction(await call(tenant, 'GET', `/ledger/transactions/by-key/${encodeURIComponent(key)}`)),
    outstanding: async (tenant) => (await call(tenant, 'GET', '/ledger/outstanding'))?.outstanding ?? 0,
    knownSegments: async (tenant, ids) => (ids.length === 0 ? [] : ((await call(tenant, 'POST', '/segments/known', { ids }))?.known ?? [])),
    members: async (tenant, ids) => (ids.length === 0 ? [] : ((await call(tenant, 'POST', '/members/snapshots', { ids }))?.members ?? [])),
  };
}

/**
 * Per request: member snapshots by id, batched into one call. Members being unreachable is the
 * caller's SERVICE_UNAVAILABLE (retry later), never an internal error.
 */
export function memberSnapshotLoader(ledger: LedgerClient, tenant: string): DataLoader<string, MemberSnapshot | null> {
  return new DataLoader<string, MemberSnapshot | null>(async (ids) => {
    const snapshots = await ledger.members(tenant, ids).catch((error: unknown) => {
      throw error instanceof LedgerUnavailableError ? new ServiceUnavailableError('Members cannot be read right now; retry later') : error;
    });
    return inKeyOrder(ids, snapshots, (m) => m.id);
  });
}

/**
 * Segment ids a campaign or reward targets must name segments of the tenant: NOT_FOUND naming
 * `field` otherwise. Returns them without repeats (none given: null, no restriction).
 */
export async function requireSegments(ledger: LedgerClient, tenant: string, ids: readonly string[] | null | undefined, field: string): Promise<string[] | null> {
  if (!ids || ids.length === 0) return null;
  const wanted = [...new Set(ids.map((id) => id.toLowerCase()))];
  const known = new Set(
    await ledger.knownSegments(tenant, wanted).catch((error: unknown) => {
      throw error instanceof LedgerUnavailableError ? new ServiceUnavailableError('Segments cannot be read right now; retry later') : error;
    }),
  );
  const unknown = wanted.find((id) => !known.has(id));
  if (unknown) throw new NotFoundError('Segment', field, `Segment ${unknown} not found`);
  return wanted;
}
