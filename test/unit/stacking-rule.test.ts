import { describe, expect, it } from '@jest/globals';
import { draftCounters } from '../../subgraphs/campaigns/src/campaign/campaign.simulation';
import { excludedByStacking, stackingOrder, type Stackable } from '../../subgraphs/campaigns/src/rules/rules';

const at = (minute: number) => new Date(Date.UTC(2026, 0, 1, 0, minute));
const c = (id: string, priority: number, exclusive = false, minute = 0): Stackable => ({ id, priority, exclusive, createdAt: at(minute) });

describe('stackingOrder', () => {
  it.each([
    { name: 'higher priority first', campaigns: [c('a', 1), c('b', 5), c('c', -3)], order: ['b', 'a', 'c'] },
    { name: 'equal priority: older first', campaigns: [c('new', 2, false, 9), c('old', 2, false, 1)], order: ['old', 'new'] },
    { name: 'equal priority and age: by id', campaigns: [c('y', 0), c('x', 0)], order: ['x', 'y'] },
  ])('$name', ({ campaigns, order }) => {
    expect(stackingOrder(campaigns).map((x) => x.id)).toEqual(order);
  });
});

describe('excludedByStacking', () => {
  it.each([
    { name: 'no exclusive campaign: nothing stopped', campaigns: [c('a', 2), c('b', 1)], awarded: { a: 10, b: 5 }, excluded: [] },
    { name: 'an awarding exclusive campaign stops all after it', campaigns: [c('a', 2, true), c('b', 1), c('c', 0)], awarded: { a: 10, b: 5, c: 1 }, excluded: ['b', 'c'] },
    { name: 'campaigns before the exclusive one keep their award', campaigns: [c('a', 3), c('x', 2, true), c('b', 1)], awarded: { a: 1, x: 1, b: 1 }, excluded: ['b'] },
    { name: 'an exclusive campaign that awarded nothing stops nothing', campaigns: [c('x', 2, true), c('b', 1)], awarded: { x: 0, b: 5 }, excluded: [] },
    { name: 'a campaign that awarded nothing is not listed as stopped', campaigns: [c('x', 2, true), c('b', 1), c('d', 0)], awarded: { x: 3, d: 2 }, excluded: ['d'] },
    { name: 'only the first awarding exclusive campaign decides', campaigns: [c('x', 2, true), c('y', 1, true)], awarded: { x: 3, y: 2 }, excluded: ['y'] },
  ])('$name', ({ campaigns, awarded, excluded }) => {
    expect(excludedByStacking(campaigns, new Map(Object.entries(awarded)))).toEqual(excluded);
  });
});

describe('draftCounters (what a simulation reserves on)', () => {
  it('clips caps and the budget like the stored counters, and takes back what is released', async () => {
    const counters = draftCounters('d', 100);
    const claim = async (memberId: string, points: number) => (await counters.claimCaps(memberId, [{ ruleId: 'r', periodKey: 'L', points, cap: 50 }]))[0];
    expect(await claim('m', 30)).toBe(30);
    expect(await claim('m', 30)).toBe(20);
    expect(await claim('m', 30)).toBe(0);
    expect(await claim('other', 30)).toBe(30);
    await counters.releaseCaps('m', [{ ruleId: 'r', periodKey: 'L', points: 10 }]);
    expect(await claim('m', 30)).toBe(10);
    expect(await counters.claimCaps('m', [{ ruleId: 'r', periodKey: 'M:2026-01', points: 5, cap: 50 }, { ruleId: 'q', periodKey: 'L', points: 9, cap: 4 }])).toEqual([5, 4]);

    expect((await counters.claimBudgets(new Map([['d', 70]]), at(0))).get('d')).toEqual({ granted: 70, pointsIssued: 70 });
    expect((await counters.claimBudgets(new Map([['d', 70]]), at(0))).get('d')).toEqual({ granted: 30, pointsIssued: 100 });
    expect((await counters.claimBudgets(new Map([['d', 5]]), at(0))).size).toBe(0);
    await counters.releaseBudgets(new Map([['d', 20]]));
    expect((await counters.claimBudgets(new Map([['d', 50]]), at(0))).get('d')).toEqual({ granted: 20, pointsIssued: 100 });
    expect((await draftCounters('d', null).claimBudgets(new Map([['d', 10 ** 9]]), at(0))).get('d')!.granted).toBe(10 ** 9);
  });
});
