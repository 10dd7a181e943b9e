// `npm run pack [-- --pack-destination DIR] [-- --json]`: the published tarball.
//
// The repository's package.json keeps `prepare` so that `npm install` in a
// clone builds the addon and the TypeScript. A published package must carry
// no build scripts (npm would warn on every install, and run them): so the
// tarball is packed from a staging directory holding the package's files and
// a package.json without `scripts` and `devDependencies`. The repository's
// package.json is never rewritten.
//
// `node scripts/pack.mjs --guard` is the repository's `prepack`: a plain
// `npm pack` / `npm publish` in the clone would ship `prepare`, so it stops
// and points here (publish the tarball: `npm publish omnitide-<v>.tgz`).
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, linkSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

const root = resolve(new URL('..', import.meta.url).pathname);
const argv = process.argv.slice(2);

if (argv.includes('--guard')) {
  const cmd = process.env.npm_command;
  if (cmd === 'pack' || cmd === 'publish') {
    console.error(
      `omnitide: \`npm ${cmd}\` from the repository would publish its build scripts (prepare).\n` +
        'Run `npm run pack` (it packs a package.json without scripts), then `npm publish omnitide-<version>.tgz`.',
    );
    process.exit(1);
  }
  process.exit(0);
}

/** The package.json a user installs: no lifecycle or dev scripts, no dev dependencies. */
export function publishedManifest(pkg) {
  const { scripts: _scripts, devDependencies: _dev, ...rest } = pkg;
  return rest;
}

const destIdx = argv.indexOf('--pack-destination');
const dest = resolve(destIdx >= 0 ? argv[destIdx + 1] : root);
const json = argv.includes('--json');

const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

/**
 * The files the `files` field names. Only the pattern shapes it uses are
 * supported (`dir/`, `path/file`, `dir/*.ext`); anything else stops the pack
 * rather than silently leaving files out. npm itself then packs the staging
 * directory (and applies its own rules on top).
 */
function listFiles(patterns) {
  const out = new Set();
  const walk = (rel) => {
    for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
      const p = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) out.add(p);
    }
  };
  for (const pattern of patterns) {
    if (/^[\w.-]+(\/[\w.-]+)*\/$/.test(pattern)) walk(pattern.slice(0, -1));
    else if (/^[\w.-]+(\/[\w.-]+)*$/.test(pattern)) {
      if (existsSync(join(root, pattern))) out.add(pattern);
    } else {
      const m = /^((?:[\w.-]+\/)*)\*([\w.-]*)$/.exec(pattern);
      if (!m) throw new Error(`scripts/pack.mjs: unsupported pattern in package.json files: ${pattern}`);
      const dir = m[1].replace(/\/$/, '') || '.';
      for (const e of readdirSync(join(root, dir), { withFileTypes: true })) {
        if (e.isFile() && e.name.endsWith(m[2])) out.add(dir === '.' ? e.name : `${dir}/${e.name}`);
      }
    }
  }
  return [...out];
}
const files = listFiles(pkg.files);
if (!files.some((f) => f.endsWith('.node'))) {
  console.error('omnitide: no addon in bindings/ to pack: run `npm run build` first');
  process.exit(1);
}

const stage = mkdtempSync(join(tmpdir(), 'omnitide-pack-'));
try {
  for (const f of files) {
    if (f === 'package.json') continue;
    const to = join(stage, f);
    mkdirSync(dirname(to), { recursive: true });
    try {
      linkSync(join(root, f), to); // the addon is large: no copy when on one filesystem
    } catch {
      copyFileSync(join(root, f), to);
    }
  }
  writeFileSync(join(stage, 'package.json'), `${JSON.stringify(publishedManifest(pkg), null, 2)}\n`);
  const out = execFileSync('npm', ['pack', stage, '--json', '--pack-destination', dest], { cwd: root, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (json) process.stdout.write(out);
  else console.log(join(dest, JSON.parse(out)[0].filename));
} finally {
  rmSync(stage, { recursive: true, force: true });
}
