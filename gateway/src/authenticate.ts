import { GraphQLError } from 'graphql';
import {
  DomainError,
  IDENTITY_HEADER,
  UnauthenticatedError,
  serviceIdentity,
  signIdentity,
  verifyUserToken,
  type Identity,
} from '@loyalty/kit';
import type { GatewayConfig } from './config';

export type Authenticate = (headers: { authorization?: string; apiKey?: string }) => Promise<Identity>;

/** A small TTL cache; entries past their time are dropped on read, the oldest when full. */
function ttlCache<V>(ttlMs: number, max = 10_000) {
  const entries = new Map<string, { value: V; expires: number }>();
  return {
    get(key: string): V | undefined {
      const entry = entries.get(key);
      if (!entry) return undefined;
      if (entry.expires <= Date.now()) {
        entries.delete(key);
        return undefined;
      }
      return entry.value;
    },
    set(key: string, value: V): void {
      if (entries.size >= max) entries.delete(entries.keys().next().value!);
      entries.set(key, { value, expires: Date.now() + ttlMs });
    },
  };
}

/**
 * Verifies who is calling: a Bearer JWT (HS256, API.md claims) or a partner `x-api-key`, which the
 * members subgraph resolves to its tenant and scopes. Key look-ups are cached for at most
 * API_KEY_CACHE_SECONDS, so a revoked key stops working within that time.
 */
export function createAuthenticator(config: GatewayConfig): Authenticate {
  const keys = ttlCache<Identity | null>(config.apiKeyCacheMs);

  const verifyApiKey = async (secret: string): Promise<Identity> => {
    const cached = keys.get(secret);
    if (cached !== undefined) {
      if (cached) return cached;
      throw new UnauthenticatedError('Unknown or revoked API key');
    }
    const credential = await signIdentity(serviceIdentity('gateway', '*'), config.serviceSecret);
    const response = await fetch(`${config.subgraphs.members}/internal/api-keys/verify`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: credential },
      body: JSON.stringify({ secret }),
      signal: AbortSignal.timeout(config.subgraphTimeoutMs),
    });
    if (response.status === 404) {
      keys.set(secret, null);
      throw new UnauthenticatedError('Unknown or revoked API key');
    }
    if (!response.ok) throw new Error(`API key verification answered ${response.status}`);
    const { apiKey } = (await response.json()) as { apiKey: { id: string; tenant: string; scopes: string[] } };
    const identity: Identity = { tenant: apiKey.tenant, principal: `api-key:${apiKey.id}`, roles: ['partner'], scopes: apiKey.scopes };
    keys.set(secret, identity);
    return identity;
  };

  return async ({ authorization, apiKey }) => {
    if (authorization) {
      const [scheme, token] = authorization.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
      return verifyUserToken(token, config.jwtSecret);
    }
    if (apiKey) return verifyApiKey(apiKey);
    throw new UnauthenticatedError('Send a Bearer token or an x-api-key');
  };
}

/** As a GraphQL response: UNAUTHENTICATED with HTTP 401. */
export function asHttpError(error: unknown): GraphQLError {
  if (error instanceof DomainError) {
    return new GraphQLError(error.message, { extensions: { code: error.code, http: { status: error.code === 'UNAUTHENTICATED' ? 401 : 403 } } });
  }
  return new GraphQLError('Internal server error', { extensions: { code: 'INTERNAL_SERVER_ERROR' } });
}

/** Signs the identity header for subgraph fetches; reused for 30 s per identity (tokens live 60 s). */
export function createIdentitySigner(serviceSecret: string) {
  const signed = ttlCache<Promise<string>>(30_000);
  return (identity: Identity): Promise<string> => {
    const key = JSON.stringify(identity);
    let token = signed.get(key);
    if (!token) {
      token = signIdentity(identity, serviceSecret);
      signed.set(key, token);
    }
    return token;
  };
}
