import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/run.js';
import { blocks, root } from './blocks.js';

/**
 * The README's API overview blocks (info string `ts`) are type-checked against the built declarations
 * (dist/, through the package's `exports`, as a consumer resolves them), so a renamed or removed API, a
 * wrong option name or a wrong argument shape fails here. Each block becomes one ES module; top-level
 * await is allowed. Shell blocks are exempt and `js example` blocks are run by readme.test.ts: no other
 * kind of block may appear.
 *
 * The overview blocks name their inputs without defining them (`blake3.hash(data)`): those names are the
 * `placeholders` below, declared `any`. A name outside this list that a block does not define is an error,
 * so a misspelt API (an unimported `Ledgr`) is not silently accepted.
 */
const placeholders = [
  'a', 'ages', 'allowedLateness', 'as', 'at', 'authority', 'b', 'batchSize', 'cgroup', 'cities',
  'clockSkewMs', 'context', 'data', 'deadLetter', 'delegations', 'effectiveFrom', 'ends', 'entities',
  'entries', 'errors', 'everyBatches', 'expiresAt', 'filter', 'fn', 'functions', 'g', 'hi', 'i', 'id',
  'incomes', 'input', 'items', 'key', 'latePolicy', 'ledger', 'left', 'lo', 'logPublicKey', 'map',
  'material', 'maxOutOfOrderness', 'message', 'mode', 'ms', 'name', 'newRoot', 'newSize', 'now',
  'oldRoot', 'oldSize', 'on', 'p', 'partitions', 'passphrase', 'path', 'paths', 'pid', 'predicate',
  'predicateType', 'proof', 'publicKey', 'real', 'releaseKey', 'request', 'requests', 'right',
  'rootHash', 'roots', 'row', 'samples', 'scheduler', 'secretKey', 'sha256', 'sig', 'signal',
  'sinks', 'size', 'sources', 'tables', 'time', 'treeSize', 'v1', 'v2', 'x', 'X', 'xs', 'y',
  'yamlOrJson', 'ys',
] as const;

const overview = blocks.filter((b) => b.info === 'ts');
const work = mkdtempSync(join(tmpdir(), 'omni-readme-types-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('README API overview blocks', () => {
  it('every block is a shell command, a run example, an example file or a type-checked `ts` block', () => {
    const kinds = blocks.map((b) => b.info).filter((i) => !/^(sh|ts|js example( cjs)?|js file=\S+)$/.test(i));
    expect(kinds).toEqual([]);
    expect(overview.length).toBeGreaterThanOrEqual(10);
  });

  it('type-check against the built declarations (tsc --noEmit, nodenext, strict)', async () => {
    mkdirSync(join(work, 'node_modules'), { recursive: true });
    symlinkSync(root, join(work, 'node_modules', 'omnitide'), 'dir');
    writeFileSync(join(work, 'package.json'), JSON.stringify({ name: 'readme-types', private: true, type: 'module' }));
    writeFileSync(join(work, 'placeholders.d.ts'), placeholders.map((n) => `declare const ${n}: any;`).join('\n') + '\n');
    const files = overview.map((b) => {
      const name = `block-${b.line}.mts`;
      // the block's line N is README line b.line + N; `export {}` keeps a block without imports a module
      writeFileSync(join(work, name), `${b.code}export {};\n`);
      return name;
    });
    writeFileSync(join(work, 'tsconfig.json'), JSON.stringify({
      compilerOptions: {
        module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', lib: ['es2023'], strict: true, noEmit: true,
        skipLibCheck: true, types: ['node'], typeRoots: [join(root, 'node_modules', '@types')],
      },
      files: ['placeholders.d.ts', ...files],
    }));
    const r = await runAsync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', work], { cwd: work, timeout: 600_000 });
    // report errors at their README line
    const errors = (r.stdout + r.stderr).replace(/block-(\d+)\.mts\((\d+),(\d+)\)/g, (_, b, l, c) => `README.md:${Number(b) + Number(l)}:${c}`);
    expect(errors).toBe('');
    expect(r.status).toBe(0);
  }, 600_000);
});
