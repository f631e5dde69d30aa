import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { access as analytics } from '@loyalty/analytics/access';
import { access as campaigns } from '@loyalty/campaigns/access';
import { access as members } from '@loyalty/members/access';
import { access as rewards } from '@loyalty/rewards/access';

// The subgraphs' access tables against the per-operation table clients read (docs/api.md, Roles).
const tables: Record<string, readonly string[]> = { ...members, ...campaigns, ...rewards, ...analytics };
const TENANT_ROLES = ['admin', 'marketer', 'agent', 'integration', 'member'];
const ROLES = new Set(['admin', 'marketer', 'agent', 'integration', 'member']);

/** "admin, agent, or the member itself" → the grants of an access rule. */
function grants(text: string): string[] {
  const result: string[] = [];
  if (text.includes('every role of the tenant')) result.push(...TENANT_ROLES);
  for (const scope of text.matchAll(/`([a-z]+:(?:read|write))` keys/g)) result.push(scope[1]!);
  if (text.includes('or the member itself')) result.push('self');
  const plain = text.replace(/\(.*?\)/g, '').replace('every role of the tenant', '').replace('or the member itself', '');
  for (const word of plain.split(/[\s,]+/)) if (ROLES.has(word)) result.push(word);
  return [...new Set(result)].sort();
}

function documented(): Map<string, string> {
  const doc = readFileSync(join(__dirname, '..', 'docs', 'api.md'), 'utf8');
  const section = doc.slice(doc.indexOf('Per operation:'), doc.indexOf('## Errors'));
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((cell) => cell.trim());
    if (cells.length !== 4 || !cells[1]!.startsWith('`')) continue;
    for (const operation of cells[1]!.matchAll(/`([\w.]+)(?:\(\w+\))?`/g)) rows.set(operation[1]!, cells[2]!);
  }
  return rows;
}

const keyOf = (operation: string) => (operation.includes('.') ? operation : Object.keys(tables).find((key) => /^(Query|Mutation)\./.test(key) && key.endsWith(`.${operation}`)));

describe('access tables', () => {
  it('give every documented operation the roles docs/api.md names', () => {
    const rows = documented();
    assert.ok(rows.size > 20, 'the Roles table of docs/api.md was found');
    for (const [operation, text] of rows) {
      if (operation === 'me') continue; // a member's own record: no rule of its own (`member` covers it)
      const key = keyOf(operation);
      assert.ok(key && tables[key], `${operation} is documented but has no access rule`);
      assert.deepEqual([...tables[key]].sort(), grants(text), operation);
    }
  });

  it('document every query, mutation and Member field the tables govern', () => {
    const rows = documented();
    for (const key of Object.keys(tables).filter((k) => /^(Query|Mutation|Member)\./.test(k))) {
      const operation = key.startsWith('Member.') ? key : key.split('.')[1]!;
      assert.ok(rows.has(operation), `${key} has an access rule but no row in docs/api.md`);
    }
  });

  it('give both subscriptions the documented rule: a member its own events, admin, marketer and agent any', () => {
    for (const field of ['pointsBalanceChanged', 'tierChanged'] as const) {
      assert.deepEqual([...members[`Subscription.${field}`]].sort(), ['admin', 'agent', 'marketer', 'self']);
    }
  });
});
