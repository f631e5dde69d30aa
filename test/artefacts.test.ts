import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from '@jest/globals';
import { promisify } from 'node:util';
import YAML from 'yaml';
import { gatewayUrl } from './support/system';

const root = join(__dirname, '..');

describe('artefacts', () => {
  it('keeps the docs self-contained: every relative link resolves, nothing points outside the repo', () => {
    const pages = ['README.md', ...readdirSync(join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
    for (const page of pages) {
      const text = readFileSync(join(root, page), 'utf8');
      assert.doesNotMatch(text, /\.\.\/shared|\b(API|DESIGN|STACK|STYLE)\.md\b/, `${page} points at files users do not have`);
      for (const [, target] of text.matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        assert.ok(existsSync(resolve(dirname(join(root, page)), target!)), `${page} links to ${target}, which does not exist`);
      }
    }
  });


  it('builds a gateway that loads none of the subgraph side: no TypeORM, type-graphql or their metadata libraries', async () => {
    // Loads gateway/dist/main.js and everything it imports, without starting it, in a fresh process.
    const script = `
      require(${JSON.stringify(join(root, 'gateway', 'dist', 'main.js'))});
      process.stdout.write(JSON.stringify(Object.keys(require.cache)));`;
    const { stdout } = await promisify(execFile)(process.execPath, ['-e', script], { cwd: root });
    const loaded = (JSON.parse(stdout) as string[]).map((path) => path.replaceAll('\\', '/'));
    const subgraphOnly = /\/node_modules\/(typeorm|type-graphql|reflect-metadata|class-validator|@apollo\/subgraph|graphql-scalars)\//;
    assert.deepEqual([...new Set(loaded.map((path) => subgraphOnly.exec(path)?.[1]).filter(Boolean))], [], 'packages of the subgraph side loaded by the gateway');
    // What was loaded is the gateway (with the kit's core entry), not an empty shell.
    assert.ok(loaded.some((path) => path.includes('/node_modules/@apollo/gateway/')));
    assert.ok(loaded.some((path) => path.endsWith('/subgraphs/kit/dist/core.js')));
    assert.ok(!loaded.some((path) => path.endsWith('/subgraphs/kit/dist/index.js')), 'the gateway imports @loyalty/kit/core, never @loyalty/kit');
  });

  it('keeps schema/ in step with the code (npm run schema regenerates it)', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'scripts', 'schema.mjs'), '--check']);
    assert.match(stdout, /matches the code/);
    const api = readFileSync(join(root, 'schema', 'api.graphql'), 'utf8');
    assert.doesNotMatch(api, /_entities|_service|join__|link__|@key/);
    assert.match(api, /adjustPoints\(input: AdjustPointsInput!\): PointsTransaction!/);
  });

  it('describes every service in docker-compose.yml with the environment the code requires', () => {
    const compose = YAML.parse(readFileSync(join(root, 'docker-compose.yml'), 'utf8')) as {
      services: Record<string, { command?: string[]; environment?: Record<string, string>; healthcheck?: unknown; depends_on?: unknown }>;
    };
    const required: Record<string, string[]> = {
      members: ['DATABASE_URL', 'EVENT_BUS_URL', 'SERVICE_SECRET', 'PORT', 'HOST', 'NODE_ENV'],
      campaigns: ['DATABASE_URL', 'EVENT_BUS_URL', 'SERVICE_SECRET', 'PORT', 'HOST', 'NODE_ENV', 'MEMBERS_URL'],
      rewards: ['DATABASE_URL', 'EVENT_BUS_URL', 'SERVICE_SECRET', 'PORT', 'HOST', 'NODE_ENV', 'MEMBERS_URL'],
      analytics: ['DATABASE_URL', 'EVENT_BUS_URL', 'SERVICE_SECRET', 'PORT', 'HOST', 'NODE_ENV'],
      gateway: ['JWT_SECRET', 'SERVICE_SECRET', 'EVENT_BUS_URL', 'MEMBERS_URL', 'CAMPAIGNS_URL', 'REWARDS_URL', 'ANALYTICS_URL', 'GATEWAY_PORT', 'HOST', 'NODE_ENV'],
    };
    assert.ok(compose.services.postgres, 'postgres service');
    for (const [name, vars] of Object.entries(required)) {
      const service = compose.services[name];
      assert.ok(service, `service ${name}`);
      assert.ok(service.healthcheck, `${name} has a health check`);
      for (const v of vars) assert.ok(service.environment && v in service.environment, `${name} sets ${v}`);
      const script = service.command?.find((part) => part.endsWith('.js'));
      assert.ok(script && existsSync(join(root, script)), `${name} runs an existing script (${script})`);
    }
  });

  it('answers /health with every subgraph and /metrics in Prometheus format, with a request id', async () => {
    const health = await fetch(`${gatewayUrl}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), {
      status: 'ok',
      subgraphs: { members: 'ok', campaigns: 'ok', rewards: 'ok', analytics: 'ok' },
    });
    assert.ok(health.headers.get('x-request-id'));
    const metrics = await (await fetch(`${gatewayUrl}/metrics`)).text();
    assert.match(metrics, /http_request_duration_seconds_bucket{[^}]*route="\/health"/);
  });
});
