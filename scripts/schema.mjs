#!/usr/bin/env node
// Prints every subgraph's SDL (offline: no database, no server), composes the supergraph with
// @apollo/composition and writes schema/. With --check, fails when the committed files drift.
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

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

async function main() {
  const check = process.argv.includes('--check');
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
