// Makes the CLI entry executable after tsc (tsc keeps the shebang, not the mode).
import { chmodSync } from 'node:fs';
chmodSync(new URL('../dist/cli/main.js', import.meta.url), 0o755);
