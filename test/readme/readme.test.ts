import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { blocks, readme, root } from './blocks.js';

/**
 * Every README example runs, verbatim, in a fresh consumer project that
 * depends on this package (the built dist/, as the tarball ships it).
 *
 * A fenced block whose info string is `js example` is run as an ES module
 * (`"type": "module"`), `js example cjs` as CommonJS, and a block tagged
 * `js file=NAME` is written next to the examples as NAME (e.g. a task module).
 * API overview blocks (plain `ts`) are type-checked by types.test.ts.
 */
const examples = blocks.filter((b) => /^js example\b/.test(b.info));
const files = blocks.filter((b) => /^js file=/.test(b.info));

const work = mkdtempSync(join(tmpdir(), 'omni-readme-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function project(type: 'module' | 'commonjs'): string {
  const dir = join(work, type);
  mkdirSync(join(dir, 'node_modules'), { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: `readme-${type}`, private: true, type }));
  try {
    symlinkSync(root, join(dir, 'node_modules', 'omnitide'), 'dir');
  } catch {
    // already linked by an earlier example
  }
  for (const f of files) writeFileSync(join(dir, f.info.slice('js file='.length).trim()), f.code);
  return dir;
}

describe('README examples', () => {
  it('there are runnable examples, and no example reaches for a file the package does not ship', () => {
    expect(examples.length).toBeGreaterThanOrEqual(4);
    expect(readme).not.toMatch(/`crates\/[^`]*README\.md`/);
  });

  for (const ex of examples) {
    const cjs = /\bcjs\b/.test(ex.info);
    it(`README.md:${ex.line} runs as ${cjs ? 'CommonJS' : 'an ES module'}`, () => {
      const dir = project(cjs ? 'commonjs' : 'module');
      const file = join(dir, `example-${ex.line}.${cjs ? 'cjs' : 'mjs'}`);
      writeFileSync(file, ex.code);
      const out = execFileSync(process.execPath, [file], { cwd: dir, encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'pipe'] });
      // Examples state their expected output in `// prints: ...` comments.
      const expected = [...ex.code.matchAll(/\/\/ prints: (.*)$/gm)].map((m) => m[1].trim());
      expect(out.trim().split('\n').filter(Boolean)).toEqual(expected);
    });
  }
});
