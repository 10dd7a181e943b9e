// Removes the TypeScript output so deleted modules never linger in a package.
import { rmSync } from 'node:fs';
rmSync(new URL('../dist', import.meta.url), { recursive: true, force: true });
