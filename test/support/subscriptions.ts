import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { waitFor } from './processes';

export { waitFor };
import { gatewayUrl } from './system';

export interface Feed<T> {
  results: T[];
  errors: unknown[];
  /** Resolves once `n` results arrived (fails the test after `ms`, so a lost event cannot hang the suite). */
  until(n: number, ms?: number): Promise<T[]>;
  stop(): void;
}

/** A real graphql-ws client, as a dashboard would open it. */
export function wsClient(token: string | undefined, url = gatewayUrl, closed?: (event: { code: number; reason: string }) => void): Client {
  return createClient({
    url: `${url.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
    on: { closed: (event) => closed?.(event as { code: number; reason: string }) },
  });
}

export function feed<T = Record<string, any>>(client: Client, query: string, variables: Record<string, unknown> = {}): Feed<T> {
  const results: T[] = [];
  const errors: unknown[] = [];
  let wake = () => {};
  const stop = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => {
        if (value.errors) errors.push(value.errors);
        else results.push(value.data as T);
        wake();
      },
      error: (error) => {
        errors.push(error);
        wake();
      },
      complete: () => wake(),
    },
  );
  return {
    results,
    errors,
    stop,
    until: (n, ms = 10_000) =>
      new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error(`waited ${ms} ms for ${n} results, got ${results.length}; errors: ${JSON.stringify(errors)}`)), ms);
        const check = () => {
          if (results.length >= n || errors.length > 0) {
            clearTimeout(deadline);
            if (errors.length > 0 && results.length < n) reject(new Error(JSON.stringify(errors)));
            else resolve(results);
          }
        };
        wake = check;
        check();
      }),
  };
}

/** Subscriptions the gateway holds right now (its /metrics gauge). */
export async function activeSubscriptions(url = gatewayUrl): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('subscriptions_active'));
  return Number(line?.split(' ').pop() ?? 0);
}

/** Waits until the gateway has registered `n` subscriptions: only then are events certain to reach them. */
export async function registered(n: number, url = gatewayUrl): Promise<void> {
  let held = 0;
  await waitFor(() => `the gateway at ${url} to hold ${n} subscriptions (it held ${held})`, async () => (held = await activeSubscriptions(url)) >= n, 10_000, 25);
}

/** Waits until the gateway holds no subscription; fails saying how many it still held. */
export async function drained(url = gatewayUrl): Promise<number> {
  let held = 0;
  await waitFor(() => `the gateway at ${url} to hold no subscription (it held ${held})`, async () => (held = await activeSubscriptions(url)) === 0, 10_000, 25);
  return held;
}
