// The lint gates, shared by `npm run lint` (scripts/lint.mjs) and `npm test`
// (scripts/test.mjs): rustfmt, clippy with warnings as errors, tsc.
export const lintSteps = [
  {
    name: 'cargo fmt --check',
    cmd: 'cargo',
    args: ['fmt', '--all', '--check'],
    fix: 'cargo fmt --all',
  },
  {
    name: 'cargo clippy (warnings are errors)',
    cmd: 'cargo',
    args: ['clippy', '--workspace', '--all-targets', '--color', 'never', '--', '-D', 'warnings'],
    fix: 'cargo clippy --workspace --all-targets --fix --allow-dirty, then fix the rest by hand',
  },
  {
    name: 'tsc --noEmit',
    cmd: process.execPath,
    args: ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'],
    fix: 'fix the reported type errors',
  },
];
