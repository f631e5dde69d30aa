import assert from 'node:assert/strict';
import type { LookupAddress } from 'node:dns';
import { describe, it } from '@jest/globals';
import type { DataSource } from 'typeorm';
import type { BadInputError, Identity } from '../../subgraphs/kit/src/core';
import { forbiddenRange, publicOnlyLookup, refusedAddress, urlProblem } from '../../subgraphs/analytics/src/webhook/webhook.address';
import type { WebhookRepository } from '../../subgraphs/analytics/src/webhook/webhook.repository';
import { WebhookSecrets } from '../../subgraphs/analytics/src/webhook/webhook.secrets';
import { WebhookService } from '../../subgraphs/analytics/src/webhook/webhook.service';
import { AuditLog } from '../../subgraphs/kit/src/audit';

describe('webhook address classification', () => {
  const cases: [address: string, range: string | null][] = [
    ['8.8.8.8', null],
    ['93.184.215.14', null],
    ['2606:4700:4700::1111', null],
    ['127.0.0.1', 'loopback'],
    ['127.255.0.9', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['169.254.169.254', 'linkLocal'],
    ['100.64.0.1', 'carrierGradeNat'],
    ['0.0.0.0', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['255.255.255.255', 'broadcast'],
    ['::1', 'loopback'],
    ['::', 'unspecified'],
    ['fe80::1', 'linkLocal'],
    ['fc00::1', 'uniqueLocal'],
    ['fd12:3456::1', 'uniqueLocal'],
    ['ff02::1', 'multicast'],
    // IPv4-mapped IPv6 is the IPv4 address it maps, public or not.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:10.0.0.1', 'private'],
    ['::ffff:7f00:1', 'loopback'],
    ['::ffff:8.8.8.8', null],
    // 6to4 and NAT64 can wrap any IPv4 address: refused.
    ['2002:0a00:0001::1', '6to4'],
    ['64:ff9b::a00:1', 'rfc6052'],
    ['not-an-ip', 'invalid'],
  ];
  for (const [address, range] of cases) {
    it(`${address} → ${range ?? 'public'}`, () => assert.equal(forbiddenRange(address), range));
  }

  it('refuses a name when any of its addresses is not public', () => {
    assert.equal(refusedAddress(['8.8.8.8', '1.1.1.1']), null);
    assert.match(refusedAddress(['8.8.8.8', '10.0.0.1'])!, /10\.0\.0\.1, a private address/);
    assert.match(refusedAddress([])!, /does not resolve/);
  });
});

describe('webhook URL rules', () => {
  const development = { production: false };
  const production = { production: true };
  const table: [url: string, rules: { production: boolean }, problem: RegExp | null][] = [
    ['https://hooks.example.com/loyalty', production, null],
    ['https://hooks.example.com:8443/a?b=c', production, null],
    ['https://8.8.8.8/hook', production, null],
    ['http://127.0.0.1:3000/hook', development, null],
    ['http://localhost/hook', development, null],
    ['http://hooks.example.com/', production, /https/],
    ['ftp://hooks.example.com/', development, /http or https/],
    ['file:///etc/passwd', development, /http or https/],
    ['javascript:alert(1)', development, /http or https/],
    ['hooks.example.com/hook', development, /absolute/],
    ['', development, /absolute/],
    ['https://user:secret@hooks.example.com/', development, /credentials/],
    ['https://127.0.0.1/', production, /loopback/],
    ['https://10.0.0.1/', production, /private/],
    ['https://[::1]/', production, /loopback/],
    ['https://[::ffff:169.254.169.254]/', production, /linkLocal/],
    ['https://[fd00::1]/', production, /uniqueLocal/],
    ['https://localhost/', production, /loopback/],
    ['https://api.localhost/', production, /loopback/],
    // WHATWG URL parsing turns these spellings of 127.0.0.1 into the dotted form first.
    ['https://2130706433/', production, /loopback/],
    ['https://0x7f.1/', production, /loopback/],
    [`https://example.com/${'a'.repeat(2048 - 20)}`, production, null],
    [`https://example.com/${'a'.repeat(2049 - 20)}`, production, /2048 characters/],
  ];
  for (const [url, rules, problem] of table) {
    it(`${url.slice(0, 60)} (${rules.production ? 'production' : 'development'}) → ${problem ?? 'allowed'}`, () => {
      const found = urlProblem(url, rules);
      if (problem === null) assert.equal(found, null);
      else assert.match(found ?? '', problem);
    });
  }
});

describe('webhook connections in production', () => {
  const lookup = (host: string, all: boolean) =>
    new Promise<{ error: NodeJS.ErrnoException | null; address: string | LookupAddress[] }>((resolve) =>
      publicOnlyLookup(host, { all }, (error, address) => resolve({ error, address })),
    );

  it('refuses to connect to a name that resolves to loopback, whatever it resolved to before (DNS rebinding)', async () => {
    for (const all of [true, false]) {
      const { error } = await lookup('localhost', all);
      assert.equal(error?.code, 'EADDRNOTPUBLIC');
      assert.match(error.message, /loopback/);
    }
  });

  it('passes on a public address in the form the caller asked for', async () => {
    const many = await lookup('8.8.8.8', true);
    assert.equal(many.error, null);
    assert.deepEqual(JSON.parse(JSON.stringify(many.address)), [{ address: '8.8.8.8', family: 4 }]);
    const one = await lookup('8.8.8.8', false);
    assert.equal(one.address, '8.8.8.8');
  });
});

describe('webhook endpoint input', () => {
  const identity: Identity = { tenant: 't1', principal: 'admin', roles: ['admin'], scopes: [] };
  // Refusals come before any database work: none is given.
  const service = (resolve: (host: string) => Promise<string[]>) =>
    new WebhookService(null as unknown as DataSource, null as unknown as WebhookRepository, new WebhookSecrets('s'.repeat(32)), { production: true, resolve }, new AuditLog());
  const refusal = async (promise: Promise<unknown>) => {
    try {
      await promise;
    } catch (error) {
      // The service's error class is the built kit's: compared by what a client sees.
      const { extensions, message } = error as BadInputError;
      assert.equal(extensions.code, 'BAD_USER_INPUT');
      return { field: extensions.field, message };
    }
    assert.fail('accepted');
  };

  it('checks the addresses a name resolves to when the endpoint is created', async () => {
    const rebinding = service(async (host) => (host === 'hooks.example.com' ? ['93.184.215.14', '10.0.0.7'] : ['8.8.8.8']));
    const { field, message } = await refusal(rebinding.create(identity, { url: 'https://hooks.example.com/x', eventTypes: ['*'] }));
    assert.equal(field, 'url');
    assert.match(message, /10\.0\.0\.7, a private address/);
    const unresolvable = service(async () => {
      throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' });
    });
    assert.equal((await refusal(unresolvable.create(identity, { url: 'https://nowhere.invalid/', eventTypes: ['*'] }))).field, 'url');
  });

  it('names the unknown event types', async () => {
    const { field, message } = await refusal(service(async () => ['8.8.8.8']).create(identity, { url: 'https://hooks.example.com/', eventTypes: ['member.enrolled', 'points.gifted', 'x'] }));
    assert.equal(field, 'eventTypes');
    assert.match(message, /unknown event types: points\.gifted, x/);
  });
});
