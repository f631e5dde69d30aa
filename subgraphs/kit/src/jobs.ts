import { severity } from './pg';
import type { Logger } from './logger';

/**
 * Runs `task` every `intervalMs`, never two at once, logging failures (the next run retries).
 * Returns how to stop it: no new run starts, and a running one is awaited.
 */
export function repeatEvery(intervalMs: number, task: () => Promise<unknown>, log: Logger, name: string): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = task()
      .catch((error: unknown) => log[severity(error)]({ err: error, job: name }, `${name} failed; will retry`))
      .finally(() => (running = undefined));
  }, intervalMs);
  return async () => {
    clearInterval(timer);
    await running;
  };
}
