import { setTimeout as sleep } from 'node:timers/promises';
import { queryOrigin } from './query-origin';
import { severity } from './pg';
import type { Logger } from './logger';

/**
 * Runs `task` every `intervalMs`, never two at once, logging failures (the next run retries). Its
 * statements count as origin `job` in the metrics.
 * Returns how to stop it: no new run starts, and a running one is awaited.
 */
export function repeatEvery(intervalMs: number, task: () => Promise<unknown>, log: Logger, name: string): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = queryOrigin
      .run('job', task)
      .catch((error: unknown) => log[severity(error)]({ err: error, job: name }, `${name} failed; will retry`))
      .finally(() => (running = undefined));
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}

/**
 * After a batch of a long job, rests for `share` of the time the batch took (`started`: its
 * performance.now()), so requests keep most of the database and CPU while the job works through a
 * large tenant (0: no rest).
 */
export async function restAfterBatch(started: number, share: number): Promise<void> {
  if (share > 0) await sleep((performance.now() - started) * share);
}
