/**
 * The rules of lots, whole and pure (no database, no clock: the caller says what is due).
 *
 * Every credit opens a lot; every debit draws on lots and records which. A lot is
 *  - pending while its credit waits out a return window: counted in `pending`, never spendable;
 *  - spendable once active, until it expires: expired points leave the balance at that instant,
 *    before any job books them, and no debit ever draws on them.
 * Debits draw soonest-expiry first (then oldest), so points that would expire are used first.
 */

/** A lot with what is due on it now (activation at the end of its pending time, expiry). */
export interface DueLot {
  id: string;
  memberId: string;
  entryId: string;
  remaining: number;
  pending: boolean;
  /** Pending and its pending time is over: it becomes spendable now. */
  activates: boolean;
  /** Its expiry has passed: its remaining points expire now. */
  expires: boolean;
}

export interface Settlement {
  /** Lots that become spendable, in the order given. */
  activated: DueLot[];
  /** Lots whose remaining points expire. */
  expired: DueLot[];
  activatedPoints: number;
  /** Expired points that were spendable (they leave the balance). */
  expiredFromBalance: number;
  /** Expired points of lots still pending (they leave `pending`). */
  expiredFromPending: number;
}

/** What is due on one member's lots: activation first, so a lot that activates and expires leaves the balance. */
export function settle(lots: readonly DueLot[]): Settlement {
  const activated = lots.filter((lot) => lot.activates);
  const expired = lots.filter((lot) => lot.expires);
  const sum = (list: readonly DueLot[]) => list.reduce((total, lot) => total + lot.remaining, 0);
  return {
    activated,
    expired,
    activatedPoints: sum(activated),
    expiredFromBalance: sum(expired.filter((lot) => !lot.pending || lot.activates)),
    expiredFromPending: sum(expired.filter((lot) => lot.pending && !lot.activates)),
  };
}

export interface OpenLot {
  id: string;
  remaining: number;
}

export interface Draw {
  taken: { lotId: string; points: number }[];
  /** Points the lots could not cover (0 when they did). */
  short: number;
}

/** Takes `points` from `lots` in the order given (the order debits draw: see openLots). */
export function draw(lots: readonly OpenLot[], points: number): Draw {
  let needed = points;
  const taken: Draw['taken'] = [];
  for (const lot of lots) {
    if (needed === 0) break;
    const take = Math.min(lot.remaining, needed);
    if (take > 0) taken.push({ lotId: lot.id, points: take });
    needed -= take;
  }
  return { taken, short: needed };
}

/** A spendable lot with what a transfer hands on of it: its expiry and whether it follows ROLLING expiry. */
export interface SpendableLot extends OpenLot {
  expiresAt: Date | null;
  rolling: boolean;
}

/** A lot a transfer opens for the receiver: points of the sender's lots with one expiry. */
export interface InheritedLot {
  points: number;
  expiresAt: Date | null;
  rolling: boolean;
}

export interface Inheritance extends Draw {
  /** The receiver's new lots, soonest expiry first: one per distinct (expiry, rolling) of what was taken. */
  lots: InheritedLot[];
}

/**
 * A transfer of `points`: taken from the sender's `lots` as any debit draws (in the order given),
 * and handed on with their expiry, so a transfer never gives points a longer life. Pieces with the
 * same expiry become one receiver lot: a transfer of many small lots does not multiply lots.
 */
export function inherit(lots: readonly SpendableLot[], points: number): Inheritance {
  const { taken, short } = draw(lots, points);
  const byId = new Map(lots.map((lot) => [lot.id, lot]));
  const inherited = new Map<string, InheritedLot>();
  for (const piece of taken) {
    const lot = byId.get(piece.lotId)!;
    const key = `${lot.expiresAt?.getTime() ?? 'never'}|${lot.rolling}`;
    const open = inherited.get(key);
    if (open) open.points += piece.points;
    else inherited.set(key, { points: piece.points, expiresAt: lot.expiresAt, rolling: lot.rolling });
  }
  // Map order is first-taken order, which is the lots' order: soonest expiry first.
  return { taken, short, lots: [...inherited.values()] };
}

export interface ReturnTake {
  fromPending: number;
  fromBalance: number;
  /** What the member keeps because it was already spent: reported, never a negative balance. */
  unrecovered: number;
}

/**
 * A return takes back `points`: from the order's pending points first (they were never
 * spendable), then from the spendable balance down to 0; the rest is unrecovered.
 */
export function returnTake(points: number, orderPending: number, balance: number): ReturnTake {
  const fromPending = Math.min(points, orderPending);
  const fromBalance = Math.min(points - fromPending, balance);
  return { fromPending, fromBalance, unrecovered: points - fromPending - fromBalance };
}
