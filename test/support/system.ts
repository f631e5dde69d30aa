import { randomUUID } from 'node:crypto';
import { Client } from 'pg';
import { IDENTITY_HEADER, signIdentity, signUserToken, type Identity } from '@loyalty/kit';

/** Where `test/jest/global-setup.mjs` started the system under test. */
export const gatewayUrl = process.env.TEST_GATEWAY_URL!;
export const subgraphUrls = JSON.parse(process.env.TEST_SUBGRAPH_URLS ?? '{}') as Record<'members' | 'campaigns' | 'rewards' | 'analytics', string>;
const databases = JSON.parse(process.env.TEST_DATABASES ?? '{}') as Record<string, string>;
export const serviceSecret = process.env.SERVICE_SECRET!;
const jwtSecret = process.env.JWT_SECRET!;
if (!gatewayUrl) throw new Error('Run the tests with `npm test` (test/jest/global-setup.mjs starts the system they need).');

export interface GraphQLResponse<T = Record<string, any>> {
  status: number;
  data?: T;
  errors?: { message: string; path?: string[]; extensions?: { code?: string; field?: string; [key: string]: unknown } }[];
}

export interface Caller {
  token?: string;
  apiKey?: string;
  headers?: Record<string, string>;
}

/** A real GraphQL-over-HTTP client call. */
export async function gql<T = Record<string, any>>(
  query: string,
  variables: Record<string, unknown> = {},
  caller: Caller = {},
  url = `${gatewayUrl}/graphql`,
): Promise<GraphQLResponse<T>> {
  const response = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(caller.token ? { authorization: `Bearer ${caller.token}` } : {}),
      ...(caller.apiKey ? { 'x-api-key': caller.apiKey } : {}),
      ...caller.headers,
    },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await response.json()) as Omit<GraphQLResponse<T>, 'status'>;
  return { status: response.status, ...body };
}

/** The data of a call that must succeed; fails the test with the errors otherwise. */
export async function ok<T = Record<string, any>>(query: string, variables: Record<string, unknown>, caller: Caller): Promise<T> {
  const result = await gql<T>(query, variables, caller);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

export const uniqueTenant = () => `t-${randomUUID().slice(0, 12)}`;

export function token(tenant: string, roles: string[], extra: { memberId?: string; sub?: string; expiresIn?: string | number } = {}): Promise<string> {
  return signUserToken(
    { sub: extra.sub ?? `${roles[0]}@${tenant}`, tenant, roles, ...(extra.memberId ? { memberId: extra.memberId } : {}) },
    jwtSecret,
    extra.expiresIn ?? '1h',
  );
}

/** The headers the gateway sends to a subgraph, for tests that call a subgraph directly. */
export async function gatewayCredential(identity: Identity): Promise<Record<string, string>> {
  return { [IDENTITY_HEADER]: await signIdentity(identity, serviceSecret) };
}

/** Runs SQL against one subgraph's own database (for assertions on the ledger, never to set up state). */
export async function sql<T = Record<string, any>>(database: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new Client({ connectionString: databases[database] });
  await client.connect();
  try {
    return (await client.query(text, params)).rows as T[];
  } finally {
    await client.end();
  }
}

/** A fresh tenant with an admin token, and helpers to enrol members and move points. */
export async function newTenant() {
  const tenant = uniqueTenant();
  const admin = await token(tenant, ['admin']);
  const enroll = async (input: Record<string, unknown> = {}) => {
    const data = await ok<{ enrollMember: { id: string } }>(
      'mutation($input: EnrollMemberInput!) { enrollMember(input: $input) { id } }',
      { input: { email: `${randomUUID()}@example.com`, ...input } },
      { token: admin },
    );
    return data.enrollMember.id;
  };
  const adjust = (memberId: string, points: number, idempotencyKey = randomUUID(), caller: Caller = { token: admin }) =>
    gql<{ adjustPoints: { id: string; points: number; balanceAfter: number } }>(
      'mutation($input: AdjustPointsInput!) { adjustPoints(input: $input) { id points balanceAfter } }',
      { input: { memberId, points, reason: 'test', idempotencyKey } },
      caller,
    );
  const balance = async (memberId: string) =>
    (await ok<{ member: { points: { balance: number } } }>('query($id: ID!) { member(id: $id) { points { balance } } }', { id: memberId }, { token: admin }))
      .member.points.balance;
  return { tenant, admin, enroll, adjust, balance };
}

export const codes = (result: GraphQLResponse) => (result.errors ?? []).map((e) => e.extensions?.code);
