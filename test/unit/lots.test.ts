import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { draw, returnTake, settle, type DueLot } from '../../subgraphs/members/src/ledger/lots.rule';

const lot = (id: string, remaining: number, flags: Partial<DueLot> = {}): DueLot => ({
  id,
  memberId: 'm',
  entryId: `e-${id}`,
  remaining,
  pending: false,
  activates: false,
  expires: false,
  ...flags,
});

describe('lot rules', () => {
  it('draws soonest lots first and reports what the lots cannot cover', () => {
    const lots = [
      { id: 'a', remaining: 5 },
      { id: 'b', remaining: 0 },
      { id: 'c', remaining: 10 },
    ];
    assert.deepEqual(draw(lots, 8), { taken: [{ lotId: 'a', points: 5 }, { lotId: 'c', points: 3 }], short: 0 });
    assert.deepEqual(draw(lots, 20).short, 5);
    assert.deepEqual(draw(lots, 0).taken, []);
  });

  it('activates before it expires: a lot that does both leaves the balance, a still-pending one leaves pending', () => {
    const outcome = settle([
      lot('spendable', 10, { expires: true }),
      lot('activating', 7, { pending: true, activates: true }),
      lot('both', 3, { pending: true, activates: true, expires: true }),
      lot('pending-expired', 4, { pending: true, expires: true }),
    ]);
    assert.equal(outcome.activatedPoints, 10);
    assert.equal(outcome.expiredFromBalance, 13);
    assert.equal(outcome.expiredFromPending, 4);
    assert.deepEqual(
      outcome.expired.map((l) => l.id),
      ['spendable', 'both', 'pending-expired'],
    );
  });

  it('takes a return from the order pending points, then the balance down to 0, and reports the rest', () => {
    assert.deepEqual(returnTake(30, 100, 50), { fromPending: 30, fromBalance: 0, unrecovered: 0 });
    assert.deepEqual(returnTake(80, 20, 50), { fromPending: 20, fromBalance: 50, unrecovered: 10 });
    assert.deepEqual(returnTake(5, 0, 0), { fromPending: 0, fromBalance: 0, unrecovered: 5 });
  });
});
