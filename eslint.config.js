import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'data/**', '*.config.js', '**/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  {
    // The domain is pure: it decides, it never does I/O.
    files: ['services/ledger/**/*.ts', 'services/classifier/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex:
                '^(node:.*|fs|path|http|net|crypto|fastify.*|@fastify/.*|kafkajs|avsc|pg|ioredis|better-sqlite3|prom-client)$',
              message: 'Domain code imports no I/O library: pass what it needs in as arguments.',
            },
          ],
        },
      ],
    },
  },
  {
    // Plain-JS tooling (node scripts/…) is outside the TypeScript project: lint it untyped.
    files: ['scripts/**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
    languageOptions: {
      parserOptions: { projectService: false },
      globals: { process: 'readonly', console: 'readonly' },
    },
    rules: { ...tseslint.configs.disableTypeChecked.rules, 'no-console': 'off' },
  },
  {
    files: ['services/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
