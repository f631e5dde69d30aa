/**
 * The rules of transfers between members, whole and pure (no database, no clock: the caller says
 * what was sent and when the day began). How the points themselves move (which lots, which expiry)
 * is the lots' rule: lots.rule.ts `inherit`.
 */
import { BadInputError, NotFoundError, type DomainError } from '@loyalty/kit';
import { startOfDay } from '../program/calendar';
import type { TransferPolicySpec } from '../program/program.policy';
import { SuspendedMemberError } from './transfer.errors';

/** What one member sent to others since the start of the day. */
export interface SentToday {
  points: number;
  transfers: number;
}

/** Where a member's transfer day starts: midnight of the calendar day in the program's time zone. */
export const transferDayStart = (now: Date, timeZone: string): Date => startOfDay(now, timeZone);

/**
 * Whether one more transfer of `points` stays within the daily limits, given what the member sent
 * today; null when it does, else the refusal (BAD_USER_INPUT on `points`, saying what is left).
 */
export function limitRefusal(limits: TransferPolicySpec, sent: SentToday, points: number): DomainError | null {
  const { maxPointsPerDay, maxTransfersPerDay } = limits;
  if (maxTransfersPerDay !== null && sent.transfers + 1 > maxTransfersPerDay) {
    return new BadInputError('points', `The daily limit of ${maxTransfersPerDay} transfers is reached; transfers are possible again tomorrow`);
  }
  if (maxPointsPerDay !== null && sent.points + points > maxPointsPerDay) {
    const left = Math.max(maxPointsPerDay - sent.points, 0);
    return new BadInputError('points', `The daily limit is ${maxPointsPerDay} points; ${left} can still be sent today`);
  }
  return null;
}

export type MemberStatus = 'ACTIVE' | 'SUSPENDED' | 'ERASED';

/**
 * Whether a member may take part in a transfer (as sender or receiver, named by `field`): only an
 * ACTIVE member. Null when it may; an unknown member is NOT_FOUND, as an erased one is (it no
 * longer exists for the program), a suspended one NOT_ELIGIBLE.
 */
export function partyRefusal(status: MemberStatus | undefined, field: 'fromMemberId' | 'toMemberId'): DomainError | null {
  if (status === undefined) return new NotFoundError('Member', field);
  if (status === 'ERASED') return new NotFoundError('Member', field, 'The member was erased');
  if (status !== 'ACTIVE') return new SuspendedMemberError(field);
  return null;
}
