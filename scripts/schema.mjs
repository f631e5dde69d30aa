#!/usr/bin/env node
// Prints every subgraph's SDL (offline: no database, no server) and composes the supergraph with
// @apollo/composition. `--write` (npm run schema) writes schema/; `--check` (npm run schema:check)
// fails when the committed files drift from the code. Without a flag it only prints its usage.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { fail, parseCli } from './cli.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'gateway', 'package.json'));
const { composeServices } = require('@apollo/composition');
const { parse, printSchema } = require('graphql');

export const SUBGRAPHS = { members: 4001, campaigns: 4002, rewards: 4003, analytics: 4004 };

async function subgraphSdl(name) {
  const { stdout } = await promisify(execFile)(process.execPath, [join(root, 'subgraphs', name, 'dist', 'print-schema.js')]);
  return stdout;
}

export async function buildArtefacts() {
  const sdls = Object.fromEntries(await Promise.all(Object.keys(SUBGRAPHS).map(async (name) => [name, await subgraphSdl(name)])));
  const result = composeServices(
    Object.entries(sdls).map(([name, sdl]) => ({ name, url: `http://${name}:${SUBGRAPHS[name]}/graphql`, typeDefs: parse(sdl) })),
  );
  if (result.errors) {
    throw new Error(`Composition failed:\n${result.errors.map((e) => `  ${e.message}`).join('\n')}`);
  }
  const files = {
    'supergraph.graphql': result.supergraphSdl.trim() + '\n',
    'api.graphql': printSchema(result.schema.toAPISchema().toGraphQLJSSchema()).trim() + '\n',
  };
  for (const [name, sdl] of Object.entries(sdls)) files[`${name}.graphql`] = sdl;
  return files;
}

const USAGE = `Usage: node scripts/schema.mjs --check | --write

  --check   fail (exit 1) when schema/ differs from what the code composes  (npm run schema:check)
  --write   regenerate schema/ from the code                                 (npm run schema)
  -h, --help  this text

Both need a build first (npm run build): the SDL is printed from each subgraph's dist/.`;

async function main() {
  const values = parseCli(USAGE, { check: { type: 'boolean' }, write: { type: 'boolean' } });
  if (values.check === values.write) fail(USAGE, values.check ? 'choose one of --check and --write' : 'say --check or --write');
  const check = Boolean(values.check);
  const files = await buildArtefacts();
  const drifted = [];
  for (const [name, content] of Object.entries(files)) {
    const path = join(root, 'schema', name);
    if (check) {
      const committed = await readFile(path, 'utf8').catch(() => '');
      if (committed !== content) drifted.push(`schema/${name}`);
    } else {
      await writeFile(path, content);
    }
  }
  if (drifted.length > 0) {
    console.error(`Schema artefacts drift from the code: ${drifted.join(', ')}\nRun \`npm run schema\` and commit the result.`);
    process.exit(1);
  }
  console.log(check ? 'schema/ matches the code' : `wrote ${Object.keys(files).map((f) => `schema/${f}`).join(', ')}`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    console.error(error.message ?? error);
    process.exit(1);
  });
}
