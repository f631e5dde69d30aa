import { DomainError } from './errors';
import { repeatEvery } from './jobs';
import type { LedgerTransaction } from './ledger-api';
import type { Logger } from './logger';

/**
 * The one way points move between a subgraph's own record and the members ledger (earn credit,
 * redemption debit, cancellation refund). The caller has already reserved (a PENDING or CANCELLING
 * row, budget, stock) in its own transaction; then:
 *
 * 1. `call` asks the ledger, with an idempotency key derived from the record, so asking again never
 *    moves points twice and tells whether the first attempt happened;
 * 2. a confirmed move is recorded by `settle` (a conditional status update, with its outbox events in
 *    the same transaction, so a concurrent replay or the recovery job records it once);
 * 3. a refusal by the ledger's rules (a `DomainError`: nothing was moved, ever) is permanent:
 *    `compensate` undoes the reservation, then the refusal (or the error `compensate` returns
 *    instead) is thrown;
 * 4. anything else (`LedgerUnavailableError`: network, timeout, 5xx; or a crash before any of this)
 *    leaves the outcome unknown: the record stays as it is, `leavePending` answers for now, and the
 *    recovery job (`recoverPending`, or a replay of the request) runs the step again later.
 */
export interface LedgerStep<R> extends Omit<LedgerCall<LedgerTransaction, R>, 'settle'> {
  settle: (transactionId: string) => Promise<R>;
}

/**
 * The same step for a ledger call that answers something other than one transaction (a return's
 * outcome: its reversal, if any, and what it could not take back): `settle` gets the whole answer.
 */
export interface LedgerCall<T, R> {
  call: () => Promise<T>;
  settle: (outcome: T) => Promise<R>;
  /** Resolves to the error the caller should see instead of the ledger's refusal, if any. */
  compensate: (refusal: DomainError) => Promise<Error | void>;
  leavePending: () => R;
  /** Logged (as a warning, with `context`) when the outcome is left to the recovery job. */
  pendingMessage: string;
  context: Record<string, unknown>;
  log: Logger;
}

export function runLedgerStep<R>(step: LedgerStep<R>): Promise<R> {
  return runLedgerCall<LedgerTransaction, R>({ ...step, settle: (transaction) => step.settle(transaction.id) });
}

export async function runLedgerCall<T, R>(step: LedgerCall<T, R>): Promise<R> {
  let outcome: T;
  try {
    outcome = await step.call();
  } catch (error) {
    if (error instanceof DomainError) throw (await step.compensate(error)) ?? error;
    step.log.warn({ err: error, ...step.context }, step.pendingMessage);
    return step.leavePending();
  }
  return step.settle(outcome);
}

/**
 * One pass of a recovery job over records left between reservation and settlement: `finish` runs the
 * ledger step again and says whether the record reached a final state. A refusal (`DomainError`)
 * was compensated by the step, so it counts as finished; `onRefused` may log it. Any other error
 * stops the pass (the next one retries). Returns how many were finished.
 */
export async function recoverPending<T>(
  records: readonly T[],
  finish: (record: T) => Promise<boolean>,
  onRefused?: (record: T, refusal: DomainError) => void,
): Promise<number> {
  let finished = 0;
  for (const record of records) {
    try {
      if (await finish(record)) finished++;
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      onRefused?.(record, error);
      finished++;
    }
  }
  return finished;
}

export interface RecoveryJob {
  name: string;
  intervalMs: number;
  /** One pass (typically `recoverPending` over the stale records); resolves to how many it finished. */
  run: () => Promise<number>;
  /** Logged (at info, with `{ [countedAs]: n }`) after a pass that finished something. */
  message: string;
  countedAs: string;
}

/** Runs a recovery pass every `intervalMs` (never two at once). Returns how to stop it. */
export function startRecoveryJob(job: RecoveryJob, log: Logger): () => Promise<void> {
  return repeatEvery(
    job.intervalMs,
    async () => {
      const finished = await job.run();
      if (finished > 0) log.info({ [job.countedAs]: finished }, job.message);
    },
    log,
    job.name,
  );
}
