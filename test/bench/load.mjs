import { randomUUID } from 'node:crypto';
// Load generation and measurement for the benches: autocannon runs that check every response,
// pooled rounds, and the results table.
import autocannon from 'autocannon';
import { log } from './harness.mjs';

// Every response is scanned for `"errors"` (cheap); every SAMPLE_EVERY-th is parsed in full to make
// sure it carries the data we asked for, not just an absence of errors.
const SAMPLE_EVERY = 100;

/** One GraphQL request with fetch, for seeding and sanity checks; throws on any error. */
export async function graphql(url, headers, query, variables) {
  const response = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json().catch(() => ({}));
  if (!response.ok || body.errors) {
    throw new Error(`GraphQL request failed (HTTP ${response.status}): ${JSON.stringify(body.errors ?? body)}`);
  }
  return body.data;
}

/**
 * Runs phases `a` and `b` alternately for `rounds` rounds (`seconds` in all for each, a 1 s warm-up
 * first), so a noisy neighbour slows both alike. Resolves to each pooled: [a, b].
 */
export async function alternate(a, b, { rounds, seconds }) {
  const runs = [];
  for (let round = 0; round < rounds; round++) {
    const timing = { seconds: seconds / rounds, warmup: round === 0 ? 1 : 0 };
    runs.push([await runPhase({ ...a, ...timing }), await runPhase({ ...b, ...timing })]);
  }
  return [pool(runs.map((r) => r[0])), pool(runs.map((r) => r[1]))];
}

/** A phase of `recordActivity` purchases of 25.00 (a fresh key each), the members taken in turn. */
export function purchasePhase({ name, url, headers, memberIds, query, connections, check }) {
  let turn = 0;
  return {
    name,
    url,
    headers,
    connections,
    setupRequest: (request) => ({
      ...request,
      body: JSON.stringify({ query, variables: { input: { memberId: memberIds[turn++ % memberIds.length], type: 'PURCHASE', amount: 2500, currency: 'EUR', idempotencyKey: `bench:${randomUUID()}` } } }),
    }),
    check,
  };
}

/** Creates a campaign and activates it: resolves to its id. */
export async function startCampaign(url, headers, input) {
  const { createCampaign } = await graphql(url, headers, 'mutation($input: CampaignInput!) { createCampaign(input: $input) { id } }', { input });
  await graphql(url, headers, 'mutation($id: ID!) { activateCampaign(id: $id) { status } }', { id: createCampaign.id });
  return createCampaign.id;
}

/** Runs `task(i)` for i in [0, n) with `width` at a time. */
export async function inParallel(n, width, task) {
  let next = 0;
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < n) await task(next++);
  }));
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

/** Runs autocannon to completion and records every response, so failures can't hide in averages. */
function cannon(options, { check }) {
  const stats = { latencies: [], responses: 0, graphqlErrors: 0, badSamples: 0, examples: [] };
  const remember = (what) => {
    const example = what.slice(0, 500);
    if (stats.examples.length < 3 && !stats.examples.includes(example)) stats.examples.push(example);
  };
  const onResponse = (status, body) => {
    const n = stats.responses++;
    if (status < 200 || status >= 300) {
      remember(`HTTP ${status}: ${body}`); // autocannon counts these as non2xx
    } else if (body.includes('"errors"')) {
      stats.graphqlErrors++;
      remember(body);
    } else if (n % SAMPLE_EVERY === 0) {
      let ok = false;
      try {
        ok = check(JSON.parse(body));
      } catch {
        ok = false;
      }
      if (!ok) {
        stats.badSamples++;
        remember(`unexpected body: ${body}`);
      }
    }
  };
  const requests = (options.requests ?? [{}]).map((request) => ({ ...request, onResponse }));

  return new Promise((resolve, reject) => {
    const done = (error, result) => (error ? reject(error) : resolve({ result, stats }));
    const instance = autocannon({ ...options, requests }, done);
    // autocannon's own histogram has 1 ms resolution, too coarse for a "< 3 ms" target: keep the
    // exact times of the responses instead.
    instance.on('response', (_client, _status, _bytes, responseTime) => stats.latencies.push(responseTime));
  });
}

/**
 * One phase: an optional warm-up (JIT, connection pools, caches; its numbers are discarded but its
 * failures still count), then the measured run. Throws with examples if any request failed.
 */
export async function runPhase({ name, url, headers, body, setupRequest, connections, seconds, warmup = 0, check }) {
  const options = {
    url: `${url}/graphql`,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
    connections,
    pipelining: 1,
    timeout: 10,
    requests: setupRequest ? [{ setupRequest }] : undefined,
  };
  log(`${name}, concurrency ${connections}: ${warmup ? `${warmup} s warm-up + ` : ''}${seconds} s`);
  const runs = [];
  if (warmup) runs.push(await cannon({ ...options, duration: warmup }, { check }));
  const measured = await cannon({ ...options, duration: seconds }, { check });
  runs.push(measured);

  const failures = runs.reduce(
    (acc, { result, stats }) => ({
      non2xx: acc.non2xx + result.non2xx,
      errors: acc.errors + result.errors, // connection errors and timeouts
      timeouts: acc.timeouts + result.timeouts,
      graphqlErrors: acc.graphqlErrors + stats.graphqlErrors,
      badSamples: acc.badSamples + stats.badSamples,
      examples: [...acc.examples, ...stats.examples],
    }),
    { non2xx: 0, errors: 0, timeouts: 0, graphqlErrors: 0, badSamples: 0, examples: [] },
  );
  const { result, stats } = measured;
  const failed = failures.non2xx + failures.errors + failures.graphqlErrors + failures.badSamples;
  if (failed > 0 || result.requests.total === 0) {
    throw new Error(
      `${name} (c=${connections}) failed: ${failures.non2xx} non-2xx, ${failures.errors} connection errors ` +
        `(${failures.timeouts} timeouts), ${failures.graphqlErrors} GraphQL errors, ` +
        `${failures.badSamples} unexpected sampled bodies, ${result.requests.total} responses.\n` +
        [...new Set(failures.examples)].map((e) => `  example: ${e}`).join('\n'),
    );
  }

  const sorted = Float64Array.from(stats.latencies).sort();
  return {
    name,
    connections,
    requests: result.requests.total,
    // Completed responses over the exact run time, not autocannon's per-second samples, which
    // drop the last partial second.
    rps: result.requests.total / result.duration,
    duration: result.duration,
    latencies: sorted,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    // Responses that counted towards warm-up + measured runs (for the ledger check below).
    okResponses: runs.reduce((sum, run) => sum + run.result['2xx'], 0),
  };
}

/** Several runs of one phase as one: total responses over total time, latencies pooled. */
export function pool(runs) {
  const latencies = Float64Array.from(runs.flatMap((run) => Array.from(run.latencies))).sort();
  const duration = runs.reduce((sum, run) => sum + run.duration, 0);
  const requests = runs.reduce((sum, run) => sum + run.requests, 0);
  return {
    ...runs[0],
    requests,
    duration,
    rps: requests / duration,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    latencies,
    okResponses: runs.reduce((sum, run) => sum + run.okResponses, 0),
  };
}

export function printTable(rows) {
  const header = ['Phase', 'conc', 'req/s', 'p50 ms', 'p99 ms', 'requests'];
  const lines = rows.map((r) => [
    r.name,
    String(r.connections),
    r.rps.toFixed(0),
    r.p50.toFixed(2),
    r.p99.toFixed(2),
    String(r.requests),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const format = (cells) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  console.log(`\n${format(header)}\n${widths.map((w) => '-'.repeat(w)).join('  ')}`);
  for (const line of lines) console.log(format(line));
}
