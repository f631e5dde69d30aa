import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
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

/** Polls `check` until it holds; fails the test saying what was awaited. */
export async function waitFor(what: string, check: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`waited ${ms} ms for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Subscriptions the gateway holds right now (its /metrics gauge). */
export async function activeSubscriptions(url = gatewayUrl): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith('subscriptions_active'));
  return Number(line?.split(' ').pop() ?? 0);
}

/** Waits until the gateway has registered `n` subscriptions: only then are events certain to reach them. */
export async function registered(n: number, url = gatewayUrl): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if ((await activeSubscriptions(url)) >= n) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the gateway never held ${n} subscriptions`);
}

export async function drained(url = gatewayUrl): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const n = await activeSubscriptions(url);
    if (n === 0) return 0;
    await new Promise((r) => setTimeout(r, 25));
  }
  return activeSubscriptions(url);
}
