import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { retryTransaction } from '../../subgraphs/kit/src/pg';

const failing = (codes: (string | undefined)[]) => {
  let calls = 0;
  const work = () => {
    const code = codes[calls++];
    return code === undefined ? Promise.resolve(calls) : Promise.reject(Object.assign(new Error(code), { code }));
  };
  return { work, calls: () => calls };
};

describe('retryTransaction', () => {
  it('runs a deadlock victim or a serialization failure again until it commits', async () => {
    const t = failing(['40P01', '40001']);
    assert.equal(await retryTransaction(t.work), 3);
  });

  it('gives up after its attempts, with the last error', async () => {
    const t = failing(['40P01', '40P01', '40P01']);
    await assert.rejects(retryTransaction(t.work, 3), { code: '40P01' });
    assert.equal(t.calls(), 3);
  });

  it('never runs again what failed for another reason', async () => {
    const t = failing(['23505']);
    await assert.rejects(retryTransaction(t.work), { code: '23505' });
    assert.equal(t.calls(), 1);
  });
});
