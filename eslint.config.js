// Lint rules: strict TypeScript, and no `any` anywhere on the wire paths.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'
import globals from 'globals'

export default tseslint.config(
  { ignores: ['node_modules/**', 'data/**', '.cache/**', 'compat-tests/**/.deps/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strict,
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    // One error catalogue (src/errors.ts): the broker raises ZombiErrors with stable codes, never bare Errors.
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-syntax': ['error', {
        selector: "NewExpression[callee.name=/^(Error|TypeError|RangeError)$/]",
        message: 'Raise a ZombiError with a code from src/errors.ts (add the code there if none fits).',
      }],
    },
  },
)
