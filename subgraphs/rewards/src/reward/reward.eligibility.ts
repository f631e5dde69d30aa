import { DomainError, type MemberSnapshot } from '@loyalty/kit';
import { HOLDING_STATUSES_SQL } from '../redemption/redemption.entity';
import { NotEligibleError, OutOfStockError, RewardUnavailableError } from '../redemption/redemption.errors';

/**
 * The gates a redemption passes, declared once: each with its TypeScript test (redeemReward, and
 * settlement of a redemption reserved without the member) and its SQL condition (Member.availableRewards,
 * and `activeOnly` for the catalog) side by side, so the two paths cannot drift. The table's order is
 * the order in which redeemReward reports a refusal.
 *
 * In SQL, `r` is the rewards row and `m` the member (`member_id`, `active`, `rank`, `balance`,
 * `segment_ids`: a uuid[] of the segments it is in).
 */
export interface RewardTerms {
  active: boolean;
  validFrom: Date | string | null;
  validUntil: Date | string | null;
  stock: number | null;
  minTierRank: number | null;
  limitPerMember: number | null;
  costPoints: number;
  /** Members in any of these segments only; null (or absent): every member. */
  segmentIds?: string[] | null;
  /** Redemptions take a code from the reward's pool (checked by redeemReward, with the stock). */
  codePool?: boolean;
}

export interface GateFacts {
  reward: RewardTerms;
  member: MemberSnapshot;
  /** The member's redemptions of this reward that count towards its limit (HOLDING_STATUSES_SQL). */
  taken: number;
  /** Points of the member's redemptions in progress, which its balance may not yet reflect (0 in SQL). */
  held: number;
  now: number;
}

type Fact = keyof Omit<GateFacts, 'now'>;

interface Gate {
  /** `availability`: "redeemable today", what a restricted identity may see of the catalog. */
  kind: 'availability' | 'member' | 'limit' | 'stock' | 'balance';
  /** The facts the test reads; a gate whose facts are not known (yet) is skipped. */
  needs: readonly Fact[];
  refuse: (facts: GateFacts) => DomainError | null;
  sql: string;
}

const time = (at: Date | string) => new Date(at).getTime();

export const REWARD_GATES: readonly Gate[] = [
  {
    kind: 'availability',
    needs: ['reward'],
    refuse: ({ reward }) => (reward.active ? null : new RewardUnavailableError('This reward is not active')),
    sql: 'r.active',
  },
  {
    kind: 'availability',
    needs: ['reward'],
    refuse: ({ reward, now }) =>
      (reward.validFrom && time(reward.validFrom) > now) || (reward.validUntil && time(reward.validUntil) <= now)
        ? new RewardUnavailableError('This reward is outside its validity window')
        : null,
    sql: '(r.valid_from IS NULL OR r.valid_from <= now()) AND (r.valid_until IS NULL OR r.valid_until > now())',
  },
  {
    kind: 'member',
    needs: ['member'],
    refuse: ({ member }) => (member.status === 'ACTIVE' ? null : new NotEligibleError('The member is suspended')),
    sql: 'm.active',
  },
  {
    kind: 'member',
    needs: ['member', 'reward'],
    refuse: ({ member, reward: { minTierRank } }) =>
      minTierRank !== null && member.tier.rank < minTierRank ? new NotEligibleError(`This reward needs a tier of rank ${minTierRank} or higher`) : null,
    sql: '(r.min_tier_rank IS NULL OR r.min_tier_rank <= m.rank)',
  },
  {
    kind: 'member',
    needs: ['member', 'reward'],
    refuse: ({ member, reward: { segmentIds } }) =>
      segmentIds && segmentIds.length > 0 && !segmentIds.some((id) => member.segmentIds.includes(id))
        ? new NotEligibleError('This reward is for members of certain segments')
        : null,
    sql: '(r.segment_ids IS NULL OR r.segment_ids && m.segment_ids)',
  },
  {
    kind: 'limit',
    needs: ['reward', 'taken'],
    refuse: ({ reward: { limitPerMember }, taken }) =>
      limitPerMember !== null && taken >= limitPerMember ? new NotEligibleError(`This reward is limited to ${limitPerMember} per member`) : null,
    sql: `(r.limit_per_member IS NULL OR r.limit_per_member > (
      SELECT count(*) FROM redemptions x WHERE x.member_id = m.member_id AND x.reward_id = r.id AND x.status IN ${HOLDING_STATUSES_SQL}))`,
  },
  {
    kind: 'stock',
    needs: ['reward'],
    refuse: ({ reward }) => (reward.stock === 0 ? new OutOfStockError() : null),
    // A reward with a code pool is also out of stock when no code of it is free (redeemReward takes one).
    sql: `(r.stock IS NULL OR r.stock > 0) AND (NOT r.code_pool OR EXISTS (SELECT 1 FROM reward_codes c WHERE c.reward_id = r.id AND c.redemption_id IS NULL))`,
  },
  {
    kind: 'balance',
    needs: ['member', 'reward', 'held'],
    refuse: ({ member: { balance }, reward: { costPoints }, held }) => {
      if (balance - held >= costPoints) return null;
      const holding = held > 0 ? `, ${held} of it held by redemptions in progress,` : '';
      return new DomainError('INSUFFICIENT_POINTS', `The balance (${balance}${holding}) does not cover ${costPoints} points`, 'rewardId');
    },
    sql: 'r.cost_points <= m.balance',
  },
];

export type GateKind = Gate['kind'];

/**
 * The first gate of `kinds` (all by default) that refuses, in table order, among those whose facts
 * are known; null when none does.
 */
export function refusal(facts: Partial<GateFacts>, kinds?: readonly GateKind[]): DomainError | null {
  const known = { now: Date.now(), ...facts } as GateFacts;
  for (const gate of REWARD_GATES) {
    if (kinds && !kinds.includes(gate.kind)) continue;
    if (gate.needs.some((fact) => facts[fact] === undefined)) continue;
    const refused = gate.refuse(known);
    if (refused) return refused;
  }
  return null;
}

/**
 * The gate kinds that come before `kind` in table order, and those after it: for a caller that
 * decides `kind` itself (redeemReward takes stock with one atomic statement) and runs the others
 * around it, so a refusal still names the first gate that refuses.
 */
export function kindsAround(kind: GateKind): { before: GateKind[]; after: GateKind[] } {
  const kinds = [...new Set(REWARD_GATES.map((gate) => gate.kind))];
  const at = kinds.indexOf(kind);
  return { before: kinds.slice(0, at), after: kinds.slice(at + 1) };
}

/** The gates of `kinds` (all by default) as one SQL condition over `r` and `m`. */
export function gatesSql(kinds?: readonly GateKind[]): string {
  return REWARD_GATES.filter((gate) => !kinds || kinds.includes(gate.kind))
    .map((gate) => gate.sql)
    .join('\n AND ');
}
