import type { CreditTerms } from '../ledger/ledger.service';
import { lotExpiry } from './expiry.rule';
import { isDeepStrictEqual } from 'node:util';
import type { DataSource, EntityManager } from 'typeorm';
import { BadInputError, type AuditLog, type Identity } from '@loyalty/kit';
import { canonicalTimeZone, isTimeZone } from './calendar';
import type { ExpiryPolicyInput, ProgramInput, TierPolicyInput, TransferPolicyInput } from './program.inputs';
import { defaultProgramPolicy, type ExpiryPolicySpec, type ProgramPolicy, type TierPolicySpec, type TransferPolicySpec } from './program.policy';
import type { ProgramRepository } from './program.repository';

/**
 * An expiry policy from its input, or BAD_USER_INPUT naming the field. class-validator has checked
 * each field alone (days ≥ 1, reminder days ≥ 1 and distinct); this checks them against each other.
 */
function toExpiryPolicy(input: ExpiryPolicyInput): ExpiryPolicySpec {
  const { mode } = input;
  const days = input.days ?? null;
  const roundTo = input.roundTo ?? 'NONE';
  const reminderDays = [...(input.reminderDays ?? [])].sort((a, b) => b - a);
  if (mode === 'NEVER') {
    if (days !== null) throw new BadInputError('expiry.days', 'days must not be given when mode is NEVER');
    if (roundTo !== 'NONE') throw new BadInputError('expiry.roundTo', 'points that never expire cannot be rounded');
    if (reminderDays.length > 0) throw new BadInputError('expiry.reminderDays', 'points that never expire need no reminders');
    return { mode, days, roundTo, reminderDays };
  }
  if (days === null) throw new BadInputError('expiry.days', `days is required when mode is ${mode}`);
  if (mode === 'ROLLING' && roundTo !== 'NONE') throw new BadInputError('expiry.roundTo', 'only AFTER_DAYS expiry can be rounded');
  if (reminderDays.some((day) => day >= days)) throw new BadInputError('expiry.reminderDays', `each reminder day must be less than days (${days})`);
  return { mode, days, roundTo, reminderDays };
}

function toTierPolicy(input: TierPolicyInput): TierPolicySpec {
  const defaults = defaultProgramPolicy().tierPolicy;
  return {
    windowMonths: input.windowMonths ?? defaults.windowMonths,
    downgrade: input.downgrade ?? defaults.downgrade,
    graceDays: input.graceDays ?? defaults.graceDays,
  };
}

const toTransferPolicy = (input: TransferPolicyInput): TransferPolicySpec => ({
  maxPointsPerDay: input.maxPointsPerDay ?? null,
  maxTransfersPerDay: input.maxTransfersPerDay ?? null,
});

/** The parts of the policy an input replaces, checked whole before anything is read or written. */
function toChange(input: ProgramInput): Partial<ProgramPolicy> {
  const change: Partial<ProgramPolicy> = {};
  if (input.timeZone !== null && input.timeZone !== undefined) {
    if (!isTimeZone(input.timeZone)) throw new BadInputError('timeZone', `${input.timeZone} is not an IANA time zone`);
    change.timeZone = canonicalTimeZone(input.timeZone);
  }
  if (input.expiry) change.expiry = toExpiryPolicy(input.expiry);
  if (input.tierPolicy) change.tierPolicy = toTierPolicy(input.tierPolicy);
  if (input.transfers) change.transfers = toTransferPolicy(input.transfers);
  return change;
}

/** The program policy per tenant: read by the API and by the ledger's rules, changed by admins with a logged change. */
export class ProgramService {
  constructor(
    private readonly db: DataSource,
    private readonly repository: ProgramRepository,
    private readonly audit: AuditLog,
  ) {}

  /**
   * The tenant's policy, the defaults when it never set one. Pass the transaction's manager to
   * read it inside a transaction (it is not locked: a change commits independently of the ledger).
   */
  async policy(tenant: string, manager?: EntityManager): Promise<ProgramPolicy> {
    return (await this.repository.find(tenant, manager)) ?? defaultProgramPolicy();
  }

  /**
   * Replaces the parts `input` gives, in one transaction that locks the tenant's row and logs the
   * change (who, before, after). A change that changes nothing writes no log entry.
   */
  /** How a credit booked at `now` expires under the tenant's policy (ledger.service.ts CreditTermsOf). */
  async creditTerms(manager: EntityManager, tenant: string, now: Date): Promise<CreditTerms> {
    const policy = await this.policy(tenant, manager);
    return { expiresAt: lotExpiry(policy, now), rolling: policy.expiry.mode === 'ROLLING' };
  }

  async update(identity: Identity, input: ProgramInput): Promise<ProgramPolicy> {
    const change = toChange(input);
    return this.db.transaction(async (manager) => {
      const before = await this.repository.lock(manager, identity.tenant, defaultProgramPolicy());
      const after: ProgramPolicy = { ...before, ...change };
      if (isDeepStrictEqual(before, after)) return before;
      await this.repository.save(manager, identity.tenant, after);
      await this.repository.recordChange(manager, identity.tenant, identity.principal, before, after);
      await this.audit.record(manager, identity, { action: 'updateProgram', targetType: 'Program', targetId: null, before, after });
      return after;
    });
  }
}
