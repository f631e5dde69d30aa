import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { EVENT_CATALOG, EVENT_TYPES, InvalidEventError, checkEvent, type LoyaltyEvent } from '../../subgraphs/kit/src/events/catalog';
import { renderEventCatalog } from '../../subgraphs/kit/src/events/catalog-doc';
import { eventReader } from '../../subgraphs/kit/src/events/reader';
import { creditBody } from '../../subgraphs/kit/src/ledger-api';
import type { BusEvent } from '../../subgraphs/kit/src/events/bus';

const member = randomUUID();
const transaction = {
  id: randomUUID(),
  memberId: member,
  type: 'EARN' as const,
  points: 50,
  balanceAfter: 150,
  reason: null,
  reference: 'order-1',
  createdAt: '2026-01-02T03:04:05.000Z',
  expiresAt: null,
};
const balanceChanged = (payload: Record<string, unknown> = {}): LoyaltyEvent =>
  ({
    type: 'POINTS_BALANCE_CHANGED',
    tenant: 't1',
    key: member,
    payload: { memberId: member, balance: 150, delta: 50, transaction, ...payload },
  }) as LoyaltyEvent;
const onBus = (event: { type: string; payload: unknown }): BusEvent => ({
  tenant: 't1',
  key: member,
  position: '7',
  source: 'members',
  sourceId: '1',
  occurredAt: '2026-01-02T03:04:05.000Z',
  ...event,
});

describe('event catalogue', () => {
  it('passes an event that matches its schema, without the fields the schema does not name', () => {
    const checked = checkEvent(balanceChanged({ extra: 'dropped' }));
    // Fields added later default where an older producer (or an older event on the bus) left them out.
    assert.deepEqual(checked.payload, { memberId: member, balance: 150, delta: 50, pendingDelta: 0, transaction: { ...transaction, pendingUntil: null } });
  });

  it('refuses, at production, an event whose payload does not match its schema', () => {
    assert.throws(() => checkEvent(balanceChanged({ delta: '50' })), (error: unknown) => {
      assert.ok(error instanceof InvalidEventError);
      assert.equal(error.type, 'POINTS_BALANCE_CHANGED');
      assert.deepEqual(error.issues[0]?.path, ['delta']);
      return true;
    });
    assert.throws(() => checkEvent(balanceChanged({ transaction: { ...transaction, type: 'GIFT' } })), InvalidEventError);
    assert.throws(() => checkEvent({ ...balanceChanged(), type: 'POINTS_GIFTED' } as unknown as LoyaltyEvent), InvalidEventError);
  });

  it('names a producer and a payload schema for every event type', () => {
    assert.deepEqual(EVENT_TYPES, [
      'MEMBER_ENROLLED',
      'POINTS_BALANCE_CHANGED',
      'TIER_CHANGED',
      'POINTS_EXPIRING',
      'ACTIVITY_RECORDED',
      'ORDER_RETURNED',
      'REDEMPTION_COMPLETED',
      'REDEMPTION_CANCELLED',
      'REDEMPTION_FULFILLED',
      'MEMBER_ERASED',
      'CAMPAIGN_EXPERIMENT_CHANGED',
      'SEGMENT_ENTERED',
      'SEGMENT_LEFT',
      'CAMPAIGN_STATUS_CHANGED',
    ]);
    for (const type of EVENT_TYPES) assert.ok(EVENT_CATALOG[type].producer, type);
  });

  it('is what docs/architecture.md lists under Events', () => {
    const doc = readFileSync(join(__dirname, '../../docs/architecture.md'), 'utf8');
    const listed = /<!-- events:begin -->\n([\s\S]*?)\n<!-- events:end -->/.exec(doc)?.[1];
    assert.ok(listed !== undefined, 'docs/architecture.md has no <!-- events:begin --> … <!-- events:end --> block');
    const rendered = renderEventCatalog();
    assert.equal(listed, rendered, `docs/architecture.md's event list is stale; between the markers it should read:\n${rendered}`);
  });
});

describe('event reader', () => {
  const read = eventReader('gateway', {
    POINTS_BALANCE_CHANGED: EVENT_CATALOG.POINTS_BALANCE_CHANGED.payload.pick({ memberId: true, delta: true }),
    TIER_CHANGED: EVENT_CATALOG.TIER_CHANGED.payload,
  });

  it('reads the fields a consumer uses, typed by its reader', () => {
    const result = read(onBus({ type: 'POINTS_BALANCE_CHANGED', payload: { memberId: member, delta: -5, balance: 'not read' } }));
    assert.equal(result.status, 'read');
    if (result.status === 'read' && result.event.type === 'POINTS_BALANCE_CHANGED') {
      assert.deepEqual(result.event.payload, { memberId: member, delta: -5 });
      assert.equal(result.event.position, '7');
    }
  });

  it('passes over a type the consumer does not consume, or does not know', () => {
    assert.deepEqual(read(onBus({ type: 'MEMBER_ENROLLED', payload: { memberId: member, country: null } })), { status: 'ignored' });
    assert.deepEqual(read(onBus({ type: 'SOMETHING_NEW', payload: {} })), { status: 'ignored' });
  });

  it('says which event of a consumed type does not match', () => {
    const result = read(onBus({ type: 'TIER_CHANGED', payload: { memberId: member, previousTierId: null } }));
    assert.equal(result.status, 'invalid');
    if (result.status === 'invalid') assert.deepEqual(result.error.issues[0]?.path, ['tierId']);
  });
});

describe('internal ledger API', () => {
  it('keeps the pending time and the order of a credit', () => {
    const body = creditBody.parse({
      memberId: member,
      points: 10,
      type: 'EARN',
      idempotencyKey: 'k',
      reference: 'r',
      pendingUntil: '2026-02-01T00:00:00.000Z',
      orderId: 'order-1',
    });
    assert.equal(body.pendingUntil, '2026-02-01T00:00:00.000Z');
    assert.equal(body.orderId, 'order-1');
    assert.equal(creditBody.safeParse({ memberId: member, points: 10, type: 'EARN', idempotencyKey: 'k', reference: 'r', pendingUntil: 'soon' }).success, false);
  });
});
