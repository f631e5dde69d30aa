import { SignJWT, jwtVerify, errors as joseErrors } from 'jose';
import { z } from 'zod';
import { ttlCache } from './cache';
import { UnauthenticatedError } from './errors';

export const ROLES = ['admin', 'marketer', 'agent', 'integration', 'member', 'partner', 'service'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as verified by the gateway (or a service, for internal calls). */
export interface Identity {
  tenant: string;
  principal: string;
  roles: Role[];
  memberId?: string;
  scopes: string[];
  /** The request this identity arrived with (subgraphs set it per request): audit entries name it. */
  requestId?: string;
}

const encoder = new TextEncoder();
const key = (secret: string) => encoder.encode(secret);

const userClaims = z.object({
  sub: z.string().min(1),
  tenant: z.string().min(1).max(64),
  roles: z.array(z.enum(['admin', 'marketer', 'agent', 'integration', 'member'])).min(1),
  memberId: z.string().optional(),
});

/** A verified token: who it speaks for, and until when. */
export interface VerifiedToken {
  identity: Identity;
  /** Seconds since epoch, from the token's `exp`. */
  exp: number;
}
type Verified = VerifiedToken;

async function verifyUser(token: string, secret: string): Promise<Verified> {
  let payload: { exp?: number };
  try {
    ({ payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], requiredClaims: ['exp'] }));
  } catch (error) {
    if (error instanceof joseErrors.JWTExpired) throw new UnauthenticatedError('Token expired');
    throw new UnauthenticatedError('Invalid token');
  }
  const claims = userClaims.safeParse(payload);
  if (!claims.success) throw new UnauthenticatedError('Token claims are invalid');
  const { sub, tenant, roles, memberId } = claims.data;
  if (roles.includes('member') && !memberId) throw new UnauthenticatedError('A member token needs memberId');
  return { identity: { tenant, principal: sub, roles, memberId, scopes: [] }, exp: payload.exp! };
}

/**
 * Remembers successful verifications until the token expires (at most 30 s), so a client or the
 * gateway reusing a token costs one HMAC per half-minute, not one per request.
 */
function cachedVerifier(verify: (token: string, secret: string) => Promise<Verified>, secret: string) {
  const verified = ttlCache<Verified>(30_000);
  return async (token: string): Promise<Verified> => {
    const cached = verified.get(token);
    if (cached) return cached;
    const result = await verify(token, secret);
    verified.set(token, result, Math.min(30_000, result.exp * 1000 - Date.now()));
    return result;
  };
}

/** Verifies a client's HS256 JWT (claims in docs/api.md, Identity). Every failure is UNAUTHENTICATED, never a detail. */
export async function verifyUserToken(token: string, secret: string): Promise<Identity> {
  return (await verifyUser(token, secret)).identity;
}

/**
 * `verifyUserToken` with a cache of recent successes (the gateway's hot path). It answers with the
 * token's `exp` too, so a long-lived connection can end when its token does.
 */
export const createUserTokenVerifier = (secret: string): ((token: string) => Promise<VerifiedToken>) => cachedVerifier(verifyUser, secret);

export interface UserTokenClaims {
  sub: string;
  tenant: string;
  roles: string[];
  memberId?: string;
}

export async function signUserToken(claims: UserTokenClaims, secret: string, expiresIn: string | number = '12h'): Promise<string> {
  const { sub, ...rest } = claims;
  return new SignJWT({ ...rest })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(sub)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(key(secret));
}

/**
 * The gateway's service credential: a short-lived token signed with SERVICE_SECRET that carries the
 * verified identity. Subgraphs refuse any request without one; services calling each other sign
 * their own with the `service` role.
 */
export const IDENTITY_HEADER = 'x-loyalty-identity';
const AUDIENCE = 'loyalty-subgraphs';

const identityClaims = z.object({
  tenant: z.string(),
  sub: z.string(),
  roles: z.array(z.enum(ROLES)),
  memberId: z.string().optional(),
  scopes: z.array(z.string()).default([]),
});

export async function signIdentity(identity: Identity, secret: string): Promise<string> {
  return new SignJWT({
    tenant: identity.tenant,
    roles: identity.roles,
    scopes: identity.scopes,
    ...(identity.memberId ? { memberId: identity.memberId } : {}),
  })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(identity.principal)
    .setAudience(AUDIENCE)
    .setIssuedAt()
    .setExpirationTime('60s')
    .sign(key(secret));
}

async function verifyIdentityToken(token: string, secret: string): Promise<Verified> {
  try {
    const { payload } = await jwtVerify(token, key(secret), { algorithms: ['HS256'], audience: AUDIENCE, requiredClaims: ['exp'] });
    const claims = identityClaims.parse(payload);
    return {
      identity: { tenant: claims.tenant, principal: claims.sub, roles: claims.roles, memberId: claims.memberId, scopes: claims.scopes },
      exp: payload.exp!,
    };
  } catch {
    throw new UnauthenticatedError('Missing or invalid service credential');
  }
}

export async function verifyIdentity(token: string, secret: string): Promise<Identity> {
  return (await verifyIdentityToken(token, secret)).identity;
}

/** `verifyIdentity` with a cache of recent successes (every subgraph request). */
export function createIdentityVerifier(secret: string): (token: string) => Promise<Identity> {
  const verify = cachedVerifier(verifyIdentityToken, secret);
  return async (token) => (await verify(token)).identity;
}

/** A service calling another service on behalf of a tenant (e.g. campaigns crediting the ledger). */
export function serviceIdentity(service: string, tenant: string): Identity {
  return { tenant, principal: `service:${service}`, roles: ['service'], scopes: [] };
}
