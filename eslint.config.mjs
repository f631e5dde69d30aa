import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', '.data/**'] },
  // The type-checked rules, with each package's tsconfig (found by the project service) as the
  // type information: needless assertions, unsafe any, floating or needless async, enum mix-ups.
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: { allowDefaultProject: ['scripts/*.d.mts'] }, tsconfigRootDir: import.meta.dirname },
    },
  },
  // Plain JavaScript (scripts, the dashboard, the benchmarks) has no types to check against.
  { files: ['**/*.js', '**/*.mjs', '**/*.cjs'], ...tseslint.configs.disableTypeChecked },
  {
    rules: {
      // With noUncheckedIndexedAccess every `rows[0]` and `map.get(k)` may be undefined to the
      // compiler, also where SQL or the line before guarantees a value (an aggregate's one row, a
      // key just set): `!` says so there. (The `field!: T` of decorated classes is a definite
      // assignment, which this rule never checked.)
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      // Apollo plugin hooks, Express handlers and the kit's HTTP client implement interfaces that
      // return promises; an async method without an await is how they do it here.
      '@typescript-eslint/require-await': 'off',
    },
  },
  // Configuration is parsed once, at the edge of a process, and passed down typed: only the entry
  // points (each main.ts, the gateway's config), scripts and tests read the environment.
  {
    files: ['**/*.ts', '**/*.mts', '**/*.js', '**/*.mjs', '**/*.cjs'],
    ignores: ['**/src/main.ts', 'gateway/src/config.ts', 'scripts/**', 'test/**', 'jest.config.mjs'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Parse configuration in the main.ts of the process and pass it down typed.' },
      ],
    },
  },
  // Jest loads its runner and setup files as CommonJS.
  { files: ['**/*.cjs'], rules: { '@typescript-eslint/no-require-imports': 'off' } },
);
