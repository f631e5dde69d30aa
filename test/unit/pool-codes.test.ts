import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { DomainError } from '@loyalty/kit';
import { MAX_CODES_PER_IMPORT, checkPoolCodes, poolCodeKey } from '../../subgraphs/rewards/src/reward/reward.codes';

const refusedField = (codes: string[]) => {
  try {
    checkPoolCodes(codes);
  } catch (error) {
    assert.ok(error instanceof DomainError);
    assert.equal(error.code, 'BAD_USER_INPUT');
    return error.field;
  }
  return 'accepted';
};

describe('pool codes', () => {
  it('compare as a till types them: any case, without spaces and dashes', () => {
    assert.equal(poolCodeKey('gift-0001 aaaa'), 'GIFT0001AAAA');
    assert.equal(poolCodeKey('GIFT0001AAAA'), poolCodeKey('Gift-0001-aaaa'));
  });

  it('are kept as imported, trimmed, in order', () => {
    assert.deepEqual(checkPoolCodes([' ab-1 ', 'CD 2']), [
      { code: 'ab-1', key: 'AB1' },
      { code: 'CD 2', key: 'CD2' },
    ]);
  });

  it('refuse a bad import naming the list or the code at fault', () => {
    assert.equal(refusedField([]), 'codes');
    assert.equal(refusedField(Array.from({ length: MAX_CODES_PER_IMPORT + 1 }, (_, i) => `C${i}`)), 'codes');
    assert.equal(refusedField(Array.from({ length: MAX_CODES_PER_IMPORT }, (_, i) => `C${i}`)), 'accepted');
    assert.equal(refusedField(['A', 'B', 'C', 'b']), 'codes.3');
    assert.equal(refusedField(['A', 'a-']), 'codes.1');
    assert.equal(refusedField(['A', '']), 'codes.1');
    assert.equal(refusedField(['A', ' - - ']), 'codes.1');
    assert.equal(refusedField(['x'.repeat(65)]), 'codes.0');
    assert.equal(refusedField(['x'.repeat(64)]), 'accepted');
    assert.equal(refusedField(['A', 'B\u0007']), 'codes.1');
    assert.equal(refusedField(['A', 'café']), 'codes.1');
  });
});
