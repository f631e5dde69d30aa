import { GraphQLError } from 'graphql';
import {
  DomainError,
  IDENTITY_HEADER,
  UnauthenticatedError,
  serviceIdentity,
  signIdentity,
  createUserTokenVerifier,
  ttlCache,
  type Identity,
} from '@loyalty/kit/core';
import type { GatewayConfig } from './config';

export interface Authenticated {
  identity: Identity;
  /** When the credential stops being valid (ms since epoch); none for an API key without `expiresAt`. */
  expiresAt?: number;
}

export type Authenticate = (headers: { authorization?: string; apiKey?: string }) => Promise<Authenticated>;

/**
 * Verifies who is calling: a Bearer JWT (HS256, the claims in docs/api.md) or a partner `x-api-key`, which the
 * members subgraph resolves to its tenant and scopes. Key look-ups are cached for at most
 * API_KEY_CACHE_SECONDS, so a revoked key stops working within that time.
 */
export function createAuthenticator(config: GatewayConfig): Authenticate {
  const keys = ttlCache<Authenticated | null>(config.apiKeyCacheMs);
  const verifyJwt = createUserTokenVerifier(config.jwtSecret);

  /** POSTs to one of members' internal routes as the gateway (API keys, sign-in checks). */
  const askMembers = async (path: string, body: unknown) =>
    fetch(`${config.subgraphs.members}/internal${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [IDENTITY_HEADER]: await signIdentity(serviceIdentity('gateway', '*'), config.serviceSecret) },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(config.subgraphTimeoutMs),
    });

  // Whether a member may still sign in (an erased one may not), per member for the same period.
  const signIns = ttlCache<Promise<boolean>>(config.apiKeyCacheMs);
  const maySignIn = (tenant: string, memberId: string): Promise<boolean> => {
    const key = `${tenant}|${memberId}`;
    let allowed = signIns.get(key);
    if (!allowed) {
      allowed = (async () => {
        const response = await askMembers('/members/sign-in', { tenant, memberId });
        if (!response.ok) throw new Error(`Member sign-in check answered ${response.status}`);
        return ((await response.json()) as { allowed: boolean }).allowed;
      })();
      signIns.set(key, allowed);
      allowed.catch(() => signIns.delete(key));
    }
    return allowed;
  };

  const verifyApiKey = async (secret: string): Promise<Authenticated> => {
    const cached = keys.get(secret);
    if (cached !== undefined) {
      if (cached) return cached;
      throw new UnauthenticatedError('Unknown, revoked or expired API key');
    }
    const response = await askMembers('/api-keys/verify', { secret });
    if (response.status === 404) {
      keys.set(secret, null);
      throw new UnauthenticatedError('Unknown, revoked or expired API key');
    }
    if (!response.ok) throw new Error(`API key verification answered ${response.status}`);
    const { apiKey } = (await response.json()) as { apiKey: { id: string; tenant: string; scopes: string[]; expiresAt: string | null } };
    const identity: Identity = { tenant: apiKey.tenant, principal: `apikey:${apiKey.id}`, roles: ['partner'], scopes: apiKey.scopes };
    const expiresAt = apiKey.expiresAt ? Date.parse(apiKey.expiresAt) : undefined;
    const authenticated: Authenticated = { identity, expiresAt };
    // Never remembered past its expiry: an expired key stops at once, not a cache period later.
    keys.set(secret, authenticated, Math.min(config.apiKeyCacheMs, (expiresAt ?? Infinity) - Date.now()));
    return authenticated;
  };

  return async ({ authorization, apiKey }) => {
    if (authorization) {
      const [scheme, token] = authorization.split(' ');
      if (scheme?.toLowerCase() !== 'bearer' || !token) throw new UnauthenticatedError('Authorization must be "Bearer <token>"');
      const { identity, exp } = await verifyJwt(token);
      if (identity.memberId && identity.roles.includes('member') && !(await maySignIn(identity.tenant, identity.memberId))) {
        throw new UnauthenticatedError('This member was erased');
      }
      return { identity, expiresAt: exp * 1000 };
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
