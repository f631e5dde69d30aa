import assert from 'node:assert/strict';
import { describe, it } from '@jest/globals';
import { decodeMemberCursor, encodeMemberCursor, escapeLike, MemberOrder, searchPatterns } from '../../subgraphs/members/src/member/member.search';

// The search rules alone, without a database: the end-to-end search tests are in member-search.test.ts.
describe('member search rules', () => {
  it.each([
    ['plain text', 'ann', 'ann'],
    ['percent', '50%', '50\\%'],
    ['underscore', 'a_b', 'a\\_b'],
    ['backslash', 'a\\b', 'a\\\\b'],
    ['all together', '\\%_', '\\\\\\%\\_'],
    ['empty', '', ''],
  ])('escapes LIKE wildcards: %s', (_name, text, escaped) => {
    assert.equal(escapeLike(text), escaped);
  });

  it.each([
    ['emailPrefix lowercased, then a prefix', { emailPrefix: 'An_N' }, { emailLike: 'an\\_n%' }],
    ['nameContains lowercased, then a substring', { nameContains: 'Mü%' }, { nameLike: '%mü\\%%' }],
    ['both', { emailPrefix: 'a', nameContains: 'bo' }, { emailLike: 'a%', nameLike: '%bo%' }],
    ['neither', { emailPrefix: null, nameContains: undefined }, {}],
    ['nameContains of 2 and 100 characters', { nameContains: 'x'.repeat(100), emailPrefix: 'y'.repeat(254) }, { nameLike: `%${'x'.repeat(100)}%`, emailLike: `${'y'.repeat(254)}%` }],
    ['characters, not UTF-16 units: two emoji are 2', { nameContains: '😀😀' }, { nameLike: '%😀😀%' }],
  ])('turns a filter into patterns: %s', (_name, filter, patterns) => {
    assert.deepEqual(searchPatterns(filter), patterns);
  });

  it.each([
    ['nameContains of 1', { nameContains: 'a' }, 'filter.nameContains'],
    ['nameContains of 101', { nameContains: 'a'.repeat(101) }, 'filter.nameContains'],
    ['one emoji is 1 character', { nameContains: '😀' }, 'filter.nameContains'],
    ['empty emailPrefix', { emailPrefix: '' }, 'filter.emailPrefix'],
    ['emailPrefix of 255', { emailPrefix: 'a'.repeat(255) }, 'filter.emailPrefix'],
  ])('refuses bad lengths: %s', (_name, filter, field) => {
    assert.throws(() => searchPatterns(filter), (error: { code?: string; field?: string }) => error.code === 'BAD_USER_INPUT' && error.field === field);
  });

  const id = '0b6f6a52-8d7a-4f3e-9a51-1d2e3f4a5b6c';
  it.each(Object.values(MemberOrder))('reads back its own cursors: %s', (order) => {
    const key = order.startsWith('ENROLLED_AT') ? '2026-12-04T20:00:00.123Z' : 'ann@example.com';
    assert.deepEqual(decodeMemberCursor(order, encodeMemberCursor(order, { key, id })), { key, id });
  });

  it('keeps the shape of default-order cursors clients already hold: [enrolledAt, id]', () => {
    const cursor = encodeMemberCursor(MemberOrder.ENROLLED_AT_ASC, { key: '2026-12-04T20:00:00.123Z', id });
    assert.deepEqual(JSON.parse(Buffer.from(cursor, 'base64url').toString()), ['2026-12-04T20:00:00.123Z', id]);
  });

  const orders = Object.values(MemberOrder);
  const pairs = orders.flatMap((from) => orders.filter((to) => to !== from).map((to) => [from, to] as const));
  it.each(pairs)('refuses a cursor of %s used with %s', (from, to) => {
    const key = from.startsWith('ENROLLED_AT') ? '2026-12-04T20:00:00.123Z' : 'ann@example.com';
    assert.throws(() => decodeMemberCursor(to, encodeMemberCursor(from, { key, id })), (error: { code?: string; field?: string }) => error.code === 'BAD_USER_INPUT' && error.field === 'after');
  });
});
