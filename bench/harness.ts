/**
 * Shared benchmark harness: runs cases with the `benchmark` package, prints
 * a table with the ratio of ours to each peer measured in the same run, and
 * saves everything to bench/results/<system>.json.
 */
import Benchmark from 'benchmark';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { join } from 'node:path';

export interface Case {
  /** Who is measured: 'omnitide' or the peer's package name. */
  impl: string;
  fn: () => unknown | Promise<unknown>;
  /** Units of work one call performs (items, signatures, bytes). */
  unitsPerCall?: number;
}

export interface Result {
  group: string;
  impl: string;
  opsPerSec: number;
  unitsPerSec: number;
  nsPerUnit: number;
  rme: number;
  samples: number;
}

export interface Group {
  name: string;
  /** What a unit is: 'op', 'sig', 'byte', 'item', ... */
  unit: string;
  cases: Case[];
  /** Goal text for the note (e.g. '>= 1.0x sodium-native'). */
  goal?: string;
}

const MAX_TIME = Number(process.env.BENCH_MAX_TIME ?? 1.5);

function runCase(c: Case): Promise<Benchmark> {
  return new Promise((resolveRun, reject) => {
    const probe = c.fn();
    const isAsync = probe instanceof Promise;
    const done = () => {
      const b = new Benchmark(c.impl, isAsync
        ? { defer: true, fn: (d: { resolve(): void }) => (c.fn() as Promise<unknown>).then(() => d.resolve()), maxTime: MAX_TIME, minSamples: 5 }
        : { fn: c.fn, maxTime: MAX_TIME, minSamples: 5 });
      b.on('complete', () => resolveRun(b)).on('error', (e: { target: { error: unknown } }) => reject(e.target.error));
      b.run({ async: true });
    };
    if (isAsync) (probe as Promise<unknown>).then(done, reject);
    else done();
  });
}

export async function runGroups(system: string, groups: Group[], extra: Record<string, unknown> = {}): Promise<Result[]> {
  const results: Result[] = [];
  for (const g of groups) {
    console.log(`\n${g.name}${g.goal ? `   (goal: ${g.goal})` : ''}`);
    const rows: Result[] = [];
    for (const c of g.cases) {
      const b = await runCase(c);
      const units = c.unitsPerCall ?? 1;
      const r: Result = {
        group: g.name,
        impl: c.impl,
        opsPerSec: b.hz,
        unitsPerSec: b.hz * units,
        nsPerUnit: 1e9 / (b.hz * units),
        rme: b.stats.rme,
        samples: b.stats.sample.length,
      };
      rows.push(r);
    }
    const ours = rows.find((r) => r.impl.startsWith('omnitide'));
    for (const r of rows) {
      const ratio = ours && r !== ours ? `  omnitide/${r.impl} = ${(ours.unitsPerSec / r.unitsPerSec).toFixed(2)}x` : '';
      console.log(`  ${r.impl.padEnd(34)} ${fmt(r.unitsPerSec, g.unit).padStart(18)}  ${r.nsPerUnit.toFixed(1).padStart(10)} ns/${g.unit}  ±${r.rme.toFixed(1)}%${ratio}`);
    }
    results.push(...rows);
  }
  save(system, { results, ...extra });
  return results;
}

export function fmt(perSec: number, unit: string): string {
  if (unit === 'byte') return perSec >= 1e9 ? `${(perSec / 1e9).toFixed(2)} GB/s` : `${(perSec / 1e6).toFixed(1)} MB/s`;
  return `${perSec >= 1e6 ? (perSec / 1e6).toFixed(2) + 'M' : perSec >= 1e3 ? (perSec / 1e3).toFixed(1) + 'k' : perSec.toFixed(1)} ${unit}/s`;
}

/** Ratio of two results' throughput, by implementation name, within a group. */
export function ratio(results: Result[], group: string, a: string, b: string): number {
  const x = results.find((r) => r.group === group && r.impl === a);
  const y = results.find((r) => r.group === group && r.impl === b);
  return x && y ? x.unitsPerSec / y.unitsPerSec : NaN;
}

// The 1-minute load average when the bench process started: the figures mean little if other work was running.
const loadAtStart = loadavg()[0];

/** Which addon ran (release or debug, and its glibc floor), from the build's own record. */
function addonBuild(): unknown {
  try {
    return JSON.parse(readFileSync(join(__dirname, '..', 'bindings', 'build-info.json'), 'utf8'));
  } catch {
    return 'unknown (bindings/build-info.json missing)';
  }
}

export function save(system: string, data: Record<string, unknown>): void {
  const dir = join(__dirname, 'results');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${system}.json`);
  writeFileSync(file, JSON.stringify({ system, date: new Date().toISOString(), node: process.version, cpus: cpus().length, cpu: cpus()[0]?.model, loadAverageAtStart: loadAtStart, loadAverageAtEnd: loadavg()[0], addon: addonBuild(), ...data }, null, 2) + '\n');
  console.log(`\nsaved ${file}`);
}

/** One timed run of an async function, in seconds (for long single operations). */
export async function timeOnce(fn: () => Promise<unknown> | unknown): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}
