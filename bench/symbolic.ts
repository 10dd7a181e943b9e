/**
 * Symbolic benchmark: omnitide vs mathjs (simplify, rationalize) and logic-solver (MiniSat
 * compiled to JS) in one run. mathjs is very slow on some inputs, so every case is timed with
 * single runs (median of a few for the fast ones). Saves bench/results/symbolic.json.
 */
import { spawnSync } from 'node:child_process';
import * as sym from '../ts/symbolic/index.js';
import { save, timeOnce } from './harness.js';

const MATHJS_BUDGET_S = Number(process.env.BENCH_MATHJS_BUDGET ?? 60);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}
async function timeMedian(fn: () => unknown, runs: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < runs; i++) t.push(await timeOnce(fn));
  return median(t);
}

function corpus(): string[] {
  const monos = Array.from({ length: 20 }, (_, i) => `${i + 1}*x^${i % 4}*y^${(i * 3) % 5}`);
  return [
    'y*x + x*y',
    '(x+1)^2 - (x^2 + 2x + 1)',
    '(x^2 - 1)/(x - 1)',
    '2x + 3y - x + 4 - y',
    'x*(y+z) - x*y',
    '(a+b)*(a-b) + b^2',
    'x/2 + x/3',
    '3*(x+2) - 3x',
    'x^2*x^3/x',
    '(2x+4)/2',
    monos.join(' + '),
  ];
}

function random3sat(vars: number, clauses: number, seed: number): number[][] {
  let s = BigInt(seed) * 0x9e3779b97f4a7c15n | 1n;
  const mask = (1n << 64n) - 1n;
  const next = () => {
    s ^= (s << 13n) & mask;
    s ^= s >> 7n;
    s ^= (s << 17n) & mask;
    return s;
  };
  const out: number[][] = [];
  for (let i = 0; i < clauses; i++) {
    const c: number[] = [];
    while (c.length < 3) {
      const v = Number(next() % BigInt(vars)) + 1;
      if (c.some((l) => Math.abs(l) === v)) continue;
      c.push(next() & 1n ? v : -v);
    }
    out.push(c);
  }
  return out;
}
function pigeonhole(p: number, h: number): number[][] {
  const v = (i: number, j: number) => i * h + j + 1;
  const cs: number[][] = [];
  for (let i = 0; i < p; i++) cs.push(Array.from({ length: h }, (_, j) => v(i, j)));
  for (let j = 0; j < h; j++) for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) cs.push([-v(a, j), -v(b, j)]);
  return cs;
}

/** Runs a peer in a child process so a slow case can be cut off at the budget. */
function peer(code: string, budgetS: number): number | null {
  const r = spawnSync(process.execPath, ['-e', code], { timeout: budgetS * 1000, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const t = Number(r.stdout.trim().split('\n').pop());
  return Number.isFinite(t) ? t : null;
}

async function main() {
  const rows: Record<string, unknown>[] = [];
  const report = (group: string, ours: number, other: number | null, peerName: string) => {
    const ratio = other === null ? `> ${(MATHJS_BUDGET_S / ours).toFixed(0)}x (peer over ${MATHJS_BUDGET_S}s budget)` : `${(other / ours).toFixed(1)}x`;
    console.log(`  ${group.padEnd(44)} omnitide ${(ours * 1e3).toFixed(3).padStart(9)} ms   ${peerName} ${other === null ? '   timeout' : (other * 1e3).toFixed(1).padStart(9) + ' ms'}   ${ratio}`);
    rows.push({ group, omnitideS: ours, peer: peerName, peerS: other, speedup: other === null ? null : other / ours });
  };

  console.log('\nsimplify corpus (goal: median >= 100x mathjs simplify)');
  const speedups: number[] = [];
  for (const e of corpus()) {
    const ours = await timeMedian(() => sym.simplify(e), 21);
    const other = peer(`const m=require('mathjs');const t=process.hrtime.bigint();m.simplify(${JSON.stringify(e)});console.log(Number(process.hrtime.bigint()-t)/1e9)`, MATHJS_BUDGET_S);
    report(`simplify ${e.length > 36 ? e.slice(0, 33) + '...' : e}`, ours, other, 'mathjs');
    speedups.push(other === null ? MATHJS_BUDGET_S / ours : other / ours);
  }
  const med = median(speedups);
  console.log(`  median speedup over mathjs.simplify: ${med.toFixed(0)}x`);

  console.log('\nrationalize((x+1)^n) (goal: < 10 ms each up to n = 12)');
  const rat: Record<number, number> = {};
  for (let n = 1; n <= 12; n++) {
    const e = `(x+1)^${n}`;
    const ours = await timeMedian(() => sym.rationalize(e), 11);
    rat[n] = ours;
    const other = n <= 3 ? peer(`const m=require('mathjs');const t=process.hrtime.bigint();m.rationalize(${JSON.stringify(e)});console.log(Number(process.hrtime.bigint()-t)/1e9)`, MATHJS_BUDGET_S) : null;
    if (n <= 3) report(`rationalize ${e}`, ours, other, 'mathjs');
    else console.log(`  rationalize ${e.padEnd(32)} omnitide ${(ours * 1e3).toFixed(3).padStart(9)} ms   (mathjs not run: minutes per call)`);
  }

  console.log('\ncompile + evaluateMany over 100k rows vs mathjs compile().evaluate per row');
  {
    const expr = '(x+1)^6 - 3*sin(y)^2 + sin(y)*x';
    const n = 100_000;
    const xs = new Float64Array(n).map((_, i) => (i % 1000) / 500 - 1);
    const ys = new Float64Array(n).map((_, i) => (i % 777) / 300);
    const c = sym.compile(expr, ['x', 'y']);
    const ours = await timeMedian(() => sym.evaluateMany(c, [xs, ys]), 7);
    const other = peer(`const m=require('mathjs');const c=m.compile(${JSON.stringify(expr)});const n=${n};const t=process.hrtime.bigint();let s=0;for(let i=0;i<n;i++){s+=c.evaluate({x:(i%1000)/500-1,y:(i%777)/300});}console.log(Number(process.hrtime.bigint()-t)/1e9)`, MATHJS_BUDGET_S);
    report('evaluateMany 100k rows', ours, other, 'mathjs');
  }

  console.log('\nfactor over Z vs SymPy factor (issue 11: SymPy 1.14 takes 5-16 ms on the cyclotomics)');
  {
    const cases = ['x^64 - 1', 'x^77 - 1', 'x^105 - 1', 'x^120 - 1', 'x^200 - 1', 'x^2 - y^2 + x - y', 'x^3 - 3*x^2*y + 3*x*y^2 - y^3 - z^3', '(x^10 + 3*x^7 - x + 5)*(x^12 - 2*x^5 + 7)*(2*x^9 + x^2 - 4)'];
    for (const e of cases) {
      const ours = await timeMedian(() => sym.factor(e), 5);
      const py = `import time,sympy\nfrom sympy.parsing.sympy_parser import parse_expr,standard_transformations,convert_xor\ne=parse_expr(${JSON.stringify(e)},transformations=standard_transformations+(convert_xor,))\nts=[]\nfor i in range(5):\n t=time.perf_counter();sympy.factor(e);ts.append(time.perf_counter()-t)\nts.sort();print(ts[2])`;
      const r = spawnSync('python3', ['-c', py], { encoding: 'utf8', timeout: MATHJS_BUDGET_S * 1000 });
      const t = r.status === 0 ? Number(r.stdout.trim()) : null;
      report(`factor ${e.length > 36 ? e.slice(0, 33) + '...' : e}`, ours, Number.isFinite(t) ? t : null, 'sympy');
    }
  }

  console.log('\nSAT (goal: >= 10x logic-solver)');
  const instances: [string, number[][]][] = [
    ['random 3-SAT 200 vars ratio 4.26 (seed 1)', random3sat(200, 852, 1)],
    ['random 3-SAT 200 vars ratio 4.26 (seed 2)', random3sat(200, 852, 2)],
    ['pigeonhole 10 into 9', pigeonhole(10, 9)],
  ];
  for (const [name, cnf] of instances) {
    const ours = await timeOnce(() => sym.sat.solve(cnf));
    console.log(`  (${name}: with DRAT proof generation ${(ours * 1e3).toFixed(1)} ms)`);
    const ourNoProof = await timeOnce(() => sym.sat.solve(cnf, { proof: false }));
    const code = `const L=require('logic-solver');const cnf=${JSON.stringify(cnf)};const t=process.hrtime.bigint();const s=new L.Solver();for(const c of cnf){s.require(L.or(...c.map(l=>l>0?'v'+l:'-v'+(-l))));}s.solve();console.log(Number(process.hrtime.bigint()-t)/1e9)`;
    const other = peer(code, Number(process.env.BENCH_SAT_BUDGET ?? 300));
    report(name, ourNoProof, other, 'logic-solver');
  }
  save('symbolic', { rows, simplifyMedianSpeedup: med, rationalizeSeconds: rat });
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
