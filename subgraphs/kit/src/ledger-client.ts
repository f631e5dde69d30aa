import { DomainError, type ErrorCode } from './errors';
import { IDENTITY_HEADER, serviceIdentity, signIdentity } from './identity';
import { REQUEST_ID_HEADER } from './server';

/** The internal ledger API of the members subgraph (not part of the public supergraph). */
export type CreditType = 'EARN' | 'ADJUST' | 'REVERSAL';
export type DebitType = 'REDEEM' | 'ADJUST' | 'EXPIRE';

export interface LedgerTransaction {
  id: string;
  memberId: string;
  type: string;
  points: number;
  balanceAfter: number;
  reason: string | null;
  reference: string | null;
  createdAt: string;
  expiresAt: string | null;
}

export interface CreditRequest {
  tenant: string;
  memberId: string;
  points: number;
  type: CreditType;
  idempotencyKey: string;
  reference: string;
  reason?: string;
  expiresAt?: string;
  /** Credits held as pending until this time (e.g. a return window), then spendable. */
  pendingUntil?: string;
}

export interface DebitRequest {
  tenant: string;
  memberId: string;
  /** A positive number of points to take. */
  points: number;
  type: DebitType;
  idempotencyKey: string;
  reference: string;
  reason?: string;
}

export interface LedgerClient {
  credit(request: CreditRequest): Promise<LedgerTransaction>;
  debit(request: DebitRequest): Promise<LedgerTransaction>;
  /** The transaction recorded under an idempotency key, or null: how a recovery job learns what happened. */
  findByKey(tenant: string, idempotencyKey: string): Promise<LedgerTransaction | null>;
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

/** Reference client for campaigns, rewards and any other service that moves points. */
export function createLedgerClient(options: LedgerClientOptions): LedgerClient {
  const call = async <T>(tenant: string, method: 'GET' | 'POST', path: string, body?: unknown, requestId?: string): Promise<T | null> => {
    const credential = await signIdentity(serviceIdentity(options.service, tenant), options.serviceSecret);
    let response: Response;
    try {
      response = await fetch(`${options.url}/internal/ledger${path}`, {
        method,
        headers: {
          [IDENTITY_HEADER]: credential,
          'content-type': 'application/json',
          ...(requestId ? { [REQUEST_ID_HEADER]: requestId } : {}),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
    } catch (error) {
      throw new LedgerUnavailableError(`ledger unreachable: ${(error as Error).message}`);
    }
    if (response.status === 404 && method === 'GET') return null;
    const json = (await response.json().catch(() => ({}))) as { transaction?: T; error?: { code: ErrorCode; message: string; field?: string } };
    if (response.ok && json.transaction) return json.transaction;
    if (json.error && response.status < 500) throw new DomainError(json.error.code, json.error.message, json.error.field);
    throw new LedgerUnavailableError(`ledger answered ${response.status}`);
  };
  return {
    credit: async ({ tenant, ...body }) => (await call<LedgerTransaction>(tenant, 'POST', '/credit', body))!,
    debit: async ({ tenant, ...body }) => (await call<LedgerTransaction>(tenant, 'POST', '/debit', body))!,
    findByKey: (tenant, key) => call<LedgerTransaction>(tenant, 'GET', `/transactions/by-key/${encodeURIComponent(key)}`),
  };
}
