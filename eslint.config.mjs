// ESLint for the TypeScript and JavaScript (npm run lint): the recommended rules of ESLint and
// typescript-eslint, without the formatting rules, which Prettier owns.
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import globals from 'globals';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  {
    ignores: ['node_modules/', 'build/', 'dist/', 'prebuilds/', 'notebooks/', 'test/fixtures/', 'bench/results/'],
  },
  js.configs.recommended,
  tseslint.configs.recommended,
  prettier,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      // a leading underscore names what is deliberately unused (an interface's argument, a key
      // taken out of an object by destructuring)
      '@typescript-eslint/no-unused-vars': [
        'error',
        {
          argsIgnorePattern: '^_',
          varsIgnorePattern: '^_',
          destructuredArrayIgnorePattern: '^_',
          ignoreRestSiblings: true,
        },
      ],
    },
  },
  {
    // fixtures and results are JSON of many shapes, read as such
    files: ['test/**', 'bench/**'],
    rules: { '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    // the addon's path is known only at run time, and the install scripts it shares code with are
    // plain CommonJS outside the TypeScript build
    files: ['lib/native.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
  {
    // the install scripts, jest's configuration and helpers are CommonJS, run by plain node
    files: ['**/*.js', '**/*.cjs'],
    languageOptions: { sourceType: 'commonjs' },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
