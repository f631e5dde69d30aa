import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from '@jest/globals';
import {
  DEFAULT_SCHEDULE,
  afterAttempt,
  nominalDelay,
  retryDelay,
  scheduleTable,
  signatureHeader,
  verifySignature,
  webhookBody,
  webhookEventId,
} from '../../subgraphs/analytics/src/webhook/webhook.rule';
import { WebhookSecrets } from '../../subgraphs/analytics/src/webhook/webhook.secrets';

const at = (iso: string) => new Date(iso);
const HOUR = 3_600_000;

describe('webhook retry schedule', () => {
  it('doubles from the base up to the cap', () => {
    const cases: [failures: number, ms: number][] = [
      [1, 10_000],
      [2, 20_000],
      [3, 40_000],
      [9, 2_560_000],
      [10, HOUR],
      [40, HOUR],
      [1000, HOUR],
    ];
    for (const [failures, ms] of cases) assert.equal(nominalDelay(DEFAULT_SCHEDULE, failures), ms, `after ${failures} failures`);
  });

  it('jitters between half the nominal delay and all of it; the first retry comes within 10 s', () => {
    for (const failures of [1, 2, 5, 12]) {
      const nominal = nominalDelay(DEFAULT_SCHEDULE, failures);
      assert.equal(retryDelay(DEFAULT_SCHEDULE, failures, 0), nominal / 2);
      assert.ok(retryDelay(DEFAULT_SCHEDULE, failures, 0.999_999) <= nominal);
      for (let i = 0; i < 200; i++) {
        const delay = retryDelay(DEFAULT_SCHEDULE, failures, Math.random());
        assert.ok(delay >= nominal / 2 && delay <= nominal, `${delay} after ${failures}`);
      }
    }
    assert.ok(retryDelay(DEFAULT_SCHEDULE, 1, 0.999_999) <= 10_000);
  });

  it('is DELIVERED on any 2xx, and retried on anything else or no answer', () => {
    const attempt = { failures: 0, retryFrom: at('2026-01-01T00:00:00Z'), now: at('2026-01-01T00:00:00Z') };
    for (const statusCode of [200, 201, 204, 299]) assert.deepEqual(afterAttempt(DEFAULT_SCHEDULE, { ...attempt, statusCode }, 0.5), { status: 'DELIVERED' });
    for (const statusCode of [null, 100, 301, 304, 400, 410, 429, 500, 503]) {
      const outcome = afterAttempt(DEFAULT_SCHEDULE, { ...attempt, statusCode }, 0.5);
      assert.equal(outcome.status, 'FAILED', String(statusCode));
      assert.equal(outcome.status === 'FAILED' && outcome.nextAttemptAt.getTime() - attempt.now.getTime(), 7_500);
    }
  });

  it('keeps retrying for 24 hours from the first attempt, then DEAD', () => {
    const retryFrom = at('2026-01-01T00:00:00Z');
    const after = (ms: number, failures: number) => afterAttempt(DEFAULT_SCHEDULE, { statusCode: 500, failures, retryFrom, now: new Date(retryFrom.getTime() + ms) }, 0.5);
    assert.equal(after(24 * HOUR - 1, 30).status, 'FAILED');
    assert.equal(after(24 * HOUR, 30).status, 'DEAD');
    // Walk the schedule with the shortest delays jitter allows: still 24 hours of retries.
    let now = 0;
    let failures = 0;
    for (;;) {
      const outcome = afterAttempt(DEFAULT_SCHEDULE, { statusCode: null, failures, retryFrom, now: new Date(retryFrom.getTime() + now) }, 0);
      if (outcome.status !== 'FAILED') break;
      failures++;
      now = outcome.nextAttemptAt.getTime() - retryFrom.getTime();
    }
    assert.ok(now >= 24 * HOUR, `last attempt after ${now / HOUR} h`);
    assert.ok(failures >= 20 && failures <= 60, `${failures} failures`);
  });

  it('tabulates the nominal schedule until 24 hours are covered', () => {
    const table = scheduleTable(DEFAULT_SCHEDULE);
    assert.deepEqual(table[0], { retry: 1, minMs: 5_000, maxMs: 10_000, elapsedMaxMs: 10_000 });
    assert.ok(table.at(-1)!.elapsedMaxMs >= 24 * HOUR);
    assert.ok(table.at(-2)!.elapsedMaxMs < 24 * HOUR);
  });

  it('follows a short schedule as configured', () => {
    const short = { baseMs: 100, maxDelayMs: 400, retryForMs: 4000 };
    assert.deepEqual([1, 2, 3, 4].map((n) => nominalDelay(short, n)), [100, 200, 400, 400]);
  });
});

describe('webhook signature', () => {
  const secret = 'whsec_test';
  const body = webhookBody({ id: 'e1', type: 'member.enrolled', tenant: 't1', occurredAt: '2026-01-01T00:00:00.000Z', data: { memberId: 'm1', country: null } });

  it('is t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>', () => {
    const header = signatureHeader([secret], 1_767_225_600, body);
    const expected = createHmac('sha256', secret).update(`1767225600.${body}`).digest('hex');
    assert.equal(header, `t=1767225600,v1=${expected}`);
  });

  it('carries one v1 per valid secret, the current one first', () => {
    const header = signatureHeader(['new', 'old'], 1000, body);
    const [t, first, second] = header.split(',');
    assert.equal(t, 't=1000');
    assert.equal(first, `v1=${createHmac('sha256', 'new').update(`1000.${body}`).digest('hex')}`);
    assert.equal(second, `v1=${createHmac('sha256', 'old').update(`1000.${body}`).digest('hex')}`);
    assert.ok(verifySignature('new', header, body, 1000));
    assert.ok(verifySignature('old', header, body, 1000));
    assert.ok(!verifySignature('other', header, body, 1000));
  });

  it('refuses another body, an old timestamp and malformed headers', () => {
    const header = signatureHeader([secret], 1000, body);
    assert.ok(verifySignature(secret, header, body, 1000 + 300));
    assert.ok(!verifySignature(secret, header, body, 1000 + 301), 'outside the tolerance');
    assert.ok(!verifySignature(secret, header, `${body} `, 1000));
    for (const bad of ['', 't=1000', 'v1=abc', `t=x,${header.split(',')[1]}`, `t=1000,v1=${'0'.repeat(63)}`]) assert.ok(!verifySignature(secret, bad, body, 1000), bad);
  });

  it('shapes the body as { id, type, tenant, occurredAt, data }', () => {
    assert.deepEqual(Object.keys(JSON.parse(body) as object), ['id', 'type', 'tenant', 'occurredAt', 'data']);
  });
});

describe('webhook event id', () => {
  it('is a name-based UUID of the bus identity: the same every time, different per event', () => {
    const id = webhookEventId('members', '42');
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(webhookEventId('members', '42'), id);
    assert.notEqual(webhookEventId('members', '43'), id);
    assert.notEqual(webhookEventId('rewards', '42'), id);
    // The separator keeps ("a", "12") and ("a1", "2") apart.
    assert.notEqual(webhookEventId('a', '12'), webhookEventId('a1', '2'));
  });
});

describe('webhook secrets at rest', () => {
  it('round-trips under the service secret and not under another', () => {
    const secrets = new WebhookSecrets('s'.repeat(32));
    const secret = secrets.generate();
    assert.match(secret, /^whsec_[A-Za-z0-9_-]{43}$/);
    const stored = secrets.encrypt(secret);
    assert.ok(!stored.includes(secret.slice(6)));
    assert.notEqual(secrets.encrypt(secret), stored, 'a fresh IV each time');
    assert.equal(secrets.decrypt(stored), secret);
    assert.throws(() => new WebhookSecrets('t'.repeat(32)).decrypt(stored));
  });
});
