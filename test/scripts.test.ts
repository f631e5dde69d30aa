import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from '@jest/globals';
import { freePort } from './support/processes';
import { gatewayUrl, subgraphUrls } from './support/system';

const root = join(__dirname, '..');

/** Runs a script of scripts/ as a user would, and returns its exit code and output. */
function run(script: string, args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(root, 'scripts', script), ...args], { cwd: root, env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const claims = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
const noStack = (text: string) => assert.doesNotMatch(text, /^\s+at |node:internal|\.mjs:\d+/m, text);

describe('scripts', () => {
  it('token: prints its usage, refuses arguments that cannot make a working token, mints one otherwise', async () => {
    const help = await run('token.mjs', ['--help']);
    assert.equal(help.code, 0, help.stderr);
    assert.match(help.stdout, /Usage: npm run token/);
    assert.match(help.stdout, /--member/);
    const cases: [string[], RegExp][] = [
      [['--role', 'wizard'], /unknown role wizard/],
      [['--role', 'member'], /--role member needs --member/],
      [['--role', 'member', '--member', 'bob'], /--member must be a member id/],
      [['--tenant'], /--tenant/],
      [['--bogus'], /Unknown option '--bogus'/],
      [['--expires', 'soon'], /--expires must be a duration/],
    ];
    for (const [args, message] of cases) {
      const result = await run('token.mjs', args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, message);
      assert.match(result.stderr, /Usage:/);
      noStack(result.stderr);
      assert.equal(result.stdout, '', 'no token printed');
    }
    const member = '00000000-0000-4000-8000-000000000001';
    const minted = await run('token.mjs', ['--role', 'member', '--tenant', 'acme', '--member', member]);
    assert.equal(minted.code, 0, minted.stderr);
    assert.deepEqual(
      (({ tenant, roles, memberId }) => ({ tenant, roles, memberId }))(claims(minted.stdout.trim())),
      { tenant: 'acme', roles: ['member'], memberId: member },
    );
  });

  it('check:outstanding: prints its usage, and one clear line (no stack) when a service cannot be reached', async () => {
    const help = await run('check-outstanding.mjs', ['--help']);
    assert.equal(help.code, 0);
    assert.match(help.stdout, /SERVICE_SECRET/);
    assert.match(help.stdout, /--gateway/);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await run('check-outstanding.mjs', ['--gateway', closed, '--members', subgraphUrls.members]);
    assert.equal(down.code, 3, down.stderr);
    assert.match(down.stderr, new RegExp(`cannot reach the gateway at ${closed}`));
    noStack(down.stderr);
    const badArg = await run('check-outstanding.mjs', ['--gateway', 'not a url']);
    assert.equal(badArg.code, 2);
    assert.match(badArg.stderr, /--gateway must be a URL/);
    const noSecret = await run('check-outstanding.mjs', [], { NODE_ENV: 'production', SERVICE_SECRET: '' });
    assert.equal(noSecret.code, 2);
    assert.match(noSecret.stderr, /SERVICE_SECRET must be set when NODE_ENV=production/);
    noStack(noSecret.stderr);
    const members = await run('check-outstanding.mjs', ['--gateway', gatewayUrl, '--members', closed, '--tenant', 'nobody-here']);
    assert.equal(members.code, 3, members.stderr);
    assert.match(members.stderr, /members ledger/);
    noStack(members.stderr);
    const fine = await run('check-outstanding.mjs', ['--gateway', gatewayUrl, '--members', subgraphUrls.members, '--tenant', 'nobody-here']);
    assert.equal(fine.code, 0, fine.stderr);
    assert.match(fine.stdout, /pointsOutstanding 0 = sum of balances 0/);
  });

  it('schema: without a flag prints its usage and writes nothing; --check passes on a clean tree', async () => {
    const api = join(root, 'schema', 'api.graphql');
    const before = { text: readFileSync(api, 'utf8'), mtime: statSync(api).mtimeMs };
    const bare = await run('schema.mjs', []);
    assert.equal(bare.code, 2);
    assert.match(bare.stderr, /--check.*schema:check/s);
    assert.deepEqual({ text: readFileSync(api, 'utf8'), mtime: statSync(api).mtimeMs }, before, 'schema/ untouched');
    const check = await run('schema.mjs', ['--check']);
    assert.equal(check.code, 0, check.stderr);
    const scripts = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.match(scripts['schema:check']!, /schema\.mjs --check/);
    assert.match(scripts.schema!, /schema\.mjs --write/);
  });
});
