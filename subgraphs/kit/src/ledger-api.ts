import { z } from 'zod';

/**
 * The internal ledger API of the members subgraph (not part of the public supergraph), as schemas:
 * the routes parse request bodies with them and the client's types are inferred from them, so the
 * two cannot disagree.
 */

/**
 * The most points one ledger move may carry (either sign): a typo at a till or a runaway rule
 * stops at the API instead of on a balance. Callers that compute points (campaigns) check it too.
 */
export const MAX_POINTS_PER_MOVE = 100_000_000;
/** A balance is a GraphQL Int (and a PostgreSQL integer): no move may take it past this. */
export const MAX_BALANCE = 2_147_483_647;

export const CREDIT_TYPES = ['EARN', 'ADJUST', 'REVERSAL'] as const;
export const DEBIT_TYPES = ['REDEEM', 'ADJUST', 'EXPIRE'] as const;
/** TRANSFER moves points between two members (members' own `transferPoints`), never through this API. */
export const ENTRY_TYPES = ['EARN', 'REDEEM', 'EXPIRE', 'ADJUST', 'REVERSAL', 'TRANSFER'] as const;

const move = z.object({
  memberId: z.string().uuid(),
  points: z.number().int().min(1).max(MAX_POINTS_PER_MOVE),
  idempotencyKey: z.string().min(1).max(200),
  reference: z.string().min(1).max(200),
  reason: z.string().max(500).optional(),
});

/** POST /internal/ledger/credit */
export const creditBody = move.extend({
  type: z.enum(CREDIT_TYPES),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
  /** EARN only: the points stay pending (not spendable) until then, or until activated. */
  pendingUntil: z.iso.datetime({ offset: true }).optional(),
  /** The order the points were earned on: pending points activate, and returns reverse, by order. */
  orderId: z.string().min(1).max(200).optional(),
});
/** POST /internal/ledger/reverse-order: a return takes back `points` the order earned. */
export const reverseOrderBody = z.object({
  memberId: z.string().uuid(),
  orderId: z.string().min(1).max(200),
  points: z.number().int().min(1).max(MAX_POINTS_PER_MOVE),
  idempotencyKey: z.string().min(1).max(200),
});
/** POST /internal/ledger/debit: `points` is the positive number of points to take. */
export const debitBody = move.extend({ type: z.enum(DEBIT_TYPES) });
/** POST /internal/members/snapshots */
export const snapshotsBody = z.object({ ids: z.array(z.string().uuid()).min(1).max(500) });

/** A ledger entry as the API (and the POINTS_BALANCE_CHANGED event) carries it. */
export const ledgerTransaction = z.object({
  id: z.guid(),
  memberId: z.guid(),
  type: z.enum(ENTRY_TYPES),
  points: z.number().int(),
  balanceAfter: z.number().int().min(0),
  reason: z.string().nullable(),
  reference: z.string().nullable(),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime().nullable(),
  pendingUntil: z.iso.datetime().nullable().default(null).describe('a pending credit: spendable from then (or once activated)'),
});

/** What another service may know of a member, in one call (campaigns: eligibility; rewards: gates). */
export const memberSnapshot = z.object({
  id: z.guid(),
  status: z.enum(['ACTIVE', 'SUSPENDED', 'ERASED']),
  country: z.string().nullable(),
  attributes: z.record(z.string(), z.unknown()),
  tier: z.object({ id: z.string(), name: z.string(), rank: z.number().int(), earnMultiplier: z.number() }),
  balance: z.number().int(),
  /** The member that referred this one at enrolment (campaigns: REFERRAL rules), or null. */
  referredBy: z.guid().nullable().default(null),
  /** The segments the member is in now (members decides from their conditions). */
  segmentIds: z.array(z.guid()).default([]),
});

export type CreditType = (typeof CREDIT_TYPES)[number];
export type DebitType = (typeof DEBIT_TYPES)[number];
export type LedgerTransaction = z.infer<typeof ledgerTransaction>;
export type MemberSnapshot = z.infer<typeof memberSnapshot>;
export type CreditRequest = { tenant: string } & z.input<typeof creditBody>;
export type DebitRequest = { tenant: string } & z.input<typeof debitBody>;
export type ReverseOrderRequest = { tenant: string } & z.input<typeof reverseOrderBody>;
/** What a return took back: a REVERSAL entry (none when nothing was left to take) and what the member keeps. */
export const reverseOrderResult = z.object({
  transaction: ledgerTransaction.nullable(),
  reversed: z.number().int().min(0),
  unrecovered: z.number().int().min(0),
});
export type ReverseOrderResult = z.infer<typeof reverseOrderResult>;
