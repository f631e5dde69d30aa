// Two projects: `unit` (pure rules, no database, seconds) and `e2e` (the running system, started
// once by the e2e project's global setup). TypeScript goes through swc, which does not type-check:
// `npm run typecheck` (tsc -b) does.

/** swc with the decorator semantics type-graphql and TypeORM read their metadata from. */
const swc = [
  '@swc/jest',
  {
    jsc: {
      target: 'es2022',
      parser: { syntax: 'typescript', decorators: true },
      transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
    },
    // import() stays a real dynamic import: the tests load ES module scripts (scripts/*.mjs) with
    // it, which Jest supports under node --experimental-vm-modules (see the npm scripts).
    module: { type: 'commonjs', ignoreDynamic: true },
    sourceMaps: 'inline',
  },
];

// jose ships only ES modules, which Jest's CommonJS runtime on Node 20 cannot require (Node itself
// can): swc compiles it to CommonJS like the tests.
const transform = { '^.+\\.ts$': swc, '/node_modules/jose/.+\\.js$': swc };
const transformIgnorePatterns = ['/node_modules/(?!jose/)'];

/** @type {import('jest').Config} */
export default {
  // Two e2e files at a time. More did better on an idle two-core machine, but on a busy one the
  // extra replicas some tests start then outlast the tests' start-up waits.
  maxWorkers: 2,
  // The services, their log streams and the embedded PostgreSQL leave handles behind in the main
  // process even once stopped; the old runner ended with process.exit for the same reason.
  forceExit: true,
  reporters: ['default', '<rootDir>/test/jest/summary-reporter.cjs'],
  projects: [
    {
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
    },
    {
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/*.test.ts'],
      transform,
      transformIgnorePatterns,
      testEnvironment: 'node',
      globalSetup: '<rootDir>/test/jest/global-setup.mjs',
      globalTeardown: '<rootDir>/test/jest/global-teardown.mjs',
      // A generous test timeout, and fetch in the test's realm.
      setupFilesAfterEnv: ['<rootDir>/test/jest/e2e-setup.cjs'],
      // Files run one at a time after the others (see test/jest/runner.cjs) when they read
      // process-wide counters of the shared system, disturb it for everyone, or need two requests
      // to finish within a few hundred milliseconds, which a busy machine does not guarantee.
      runner: [
        '<rootDir>/test/jest/runner.cjs',
        {
          serial: [
            // counts the members subgraph's SQL statements (its /metrics counter)
            'batching.test.ts',
            // reads the gateway's subscriptions_active gauge, and cuts every bus consumer's connection
            'subscriptions.test.ts',
            // replicas recover redemptions after 300 ms: the next request and the balance check
            // must come first
            'rewards.test.ts',
            // eight clients and four SIGKILLs of its own replicas: it would starve whatever runs beside it
            'chaos.test.ts',
          ],
        },
      ],
    },
  ],
};
