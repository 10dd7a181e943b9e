import { describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as sym from '../../ts/symbolic/index.js';
import { OmniError } from '../../ts/errors.js';
import { thrown as err } from '../helpers/thrown.js';

describe('parse and print', () => {
  it('keeps the mathjs quirks', () => {
    expect(sym.parse('1/2x').expr).toBe('1 / 2 * x');
    expect(sym.parse('-x^2').expr).toBe('-x ^ 2');
    expect(sym.parse('2x y').variables).toEqual(['x', 'y']);
    expect(sym.toTex('sqrt(x)/2')).toBe('\\frac{\\sqrt{x}}{2}');
  });
  it('reports syntax errors with the position and what was expected', () => {
    const e = err(() => sym.simplify('x + * 2'));
    expect(e.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(e.message).toMatch(/position 4/);
    expect(e.message).toMatch(/expected/);
    expect(err(() => sym.simplify('('.repeat(100000) + 'x')).code).toBe('ERR_OMNI_LIMIT');
    expect(err(() => sym.simplify(42 as unknown as string)).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(err(() => sym.simplify('x', { bogus: 1 } as never)).message).toMatch(/opts/);
  });
});

describe('simplify (the mathjs issue cases)', () => {
  it('is canonical and domain-correct', () => {
    expect(sym.simplify('y*x').expr).toBe(sym.simplify('x*y').expr);
    expect(sym.simplify('(x+1)^2-(x^2+2x+1)').expr).toBe('0');
    expect(sym.simplify('sin(x)^2+cos(x)^2').expr).toBe('1');
    expect(sym.simplify('(x^2-1)/(x-1)')).toEqual({ expr: 'x + 1', conditions: ['x - 1 != 0'] });
    expect(sym.simplify('(x^2)^(1/2)').expr).toBe('abs(x)');
    expect(sym.simplify('sqrt(x^2)', { assume: { positive: ['x'] } }).expr).toBe('x');
    expect(sym.simplify('x/x')).toEqual({ expr: '1', conditions: ['x != 0'] });
    expect(err(() => sym.simplify('x/x', { allowCancel: false })).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
  it('hits limits instead of hanging', () => {
    const e = err(() => sym.simplify('x^1000000'));
    expect(e.code).toBe('ERR_OMNI_LIMIT');
    expect(err(() => sym.expand('(a+b+c+d+f+g)^200')).code).toBe('ERR_OMNI_LIMIT');
    expect(sym.simplify('x^1000000', { limits: { maxExponent: 2_000_000 } }).expr).toBe('x ^ 1000000');
  });
  it('batches and async', async () => {
    const r = sym.simplifyMany(['x+x', 'x+', '(x+1)^2']);
    expect(r[0]).toEqual({ expr: '2 * x', conditions: [] });
    expect('error' in r[1] && r[1].error.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect((await sym.simplifyAsync('y*x')).expr).toBe('x * y');
  });
});

describe('algebra', () => {
  it('expand, rationalize, factor, derivative, substitute, evaluate', () => {
    expect(sym.rationalize('(x+1)^5').expr).toBe('x ^ 5 + 5 * x ^ 4 + 10 * x ^ 3 + 10 * x ^ 2 + 5 * x + 1');
    expect(sym.rationalize('1/x + 1/y')).toEqual({ expr: '(x + y) / (x * y)', numerator: 'x + y', denominator: 'x * y' });
    expect(sym.factor('x^2 - 1')).toBe('(x + 1) * (x - 1)');
    expect(sym.factor('x^4 + 5x^2 + 6')).toBe('(x ^ 2 + 2) * (x ^ 2 + 3)');
    expect(sym.derivative('x^3 + sin(x)', 'x').expr).toBe('3 * x ^ 2 + cos(x)');
    expect(sym.substitute('x^2 + y', { x: 'a + 1' })).toBe('(a + 1) ^ 2 + y');
    expect(sym.evaluate('x^2 + 1/2x', { x: 2 })).toBe(5);
  });
  it('equivalent with a checkable proof or a counterexample', () => {
    const r = sym.equivalent('(x+1)^2', 'x^2 + 2x + 1');
    expect(r.equal).toBe(true);
    if (r.equal !== true) throw new Error();
    expect(sym.checkProof('(x+1)^2', 'x^2 + 2x + 1', r.proof).valid).toBe(true);
    const forged = r.proof.map((s) => ({ ...s, result: 'x' }));
    expect(sym.checkProof('(x+1)^2', 'x^2 + 2x + 1', forged).valid).toBe(false);
    const forgedTerm = r.proof.map((s, i) => (i === 0 ? { ...s, term: '(+ x 1)', result: 'x + 1' } : s));
    expect(sym.checkProof('(x+1)^2', 'x^2 + 2x + 1', forgedTerm).valid).toBe(false);
    // egg proof: each step names the rule and the subterm
    const c = sym.equivalent('x*y + 0', 'y*x');
    expect(c.equal).toBe(true);
    if (c.equal !== true) throw new Error();
    expect(c.method).toBe('rewrite');
    expect(c.proof.map((s) => s.rule).sort()).toEqual(['add-zero', 'comm-mul']);
    expect(sym.checkProof('x*y + 0', 'y*x', c.proof).valid).toBe(true);
    const u = sym.equivalent('a*x + b*x', '(a+b)*x', { rules: ['n1*n3 + n2*n3 -> (n1+n2)*n3'], defaultRules: false });
    expect(u.equal === true && u.proof[0].rule).toBe('rule0');
    expect(sym.rewrite('a*x + b*x', [{ l: 'n1*n3 + n2*n3', r: '(n1+n2)*n3', name: 'factor' }]).expr).toBe('(a + b) * x');
    const sr = sym.simplify('a*x + b*x', { rules: ['n1*n3 + n2*n3 -> (n1+n2)*n3'] });
    expect(sr.expr).toBe('(a + b) * x');
    expect(sr.steps?.map((s) => s.rule)).toEqual(['rule0']);
    expect(sym.checkProof('a*x + b*x', sr.expr, sr.steps!, { rules: ['n1*n3 + n2*n3 -> (n1+n2)*n3'], defaultRules: false }).valid).toBe(true);
    const limited = sym.equivalent('sin(x)^4', 'sin(x)^2*sin(x)^2 + 0*y*z', { limits: { nodes: 10, iterations: 1 }, trig: false });
    expect(['unknown', true]).toContain(limited.equal);
    const n = sym.equivalent('(x+1)^2', 'x^2 + 1');
    expect(n.equal).toBe(false);
    if (n.equal === false) expect(Math.abs(n.values[0] - n.values[1])).toBeGreaterThan(1e-6);
  });
  it('compile and evaluateMany', () => {
    const c = sym.compile('(x+1)^2 - y', ['x', 'y']);
    expect(c.evaluate([2, 1])).toBe(8);
    const out = sym.evaluateMany(c, [new Float64Array([0, 1, 2]), new Float64Array([1, 1, 1])]);
    expect([...out]).toEqual([0, 3, 8]);
    expect(err(() => sym.evaluateMany(c, [new Float64Array(2)])).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
});

function pigeonhole(p: number, h: number): number[][] {
  const v = (i: number, j: number) => i * h + j + 1;
  const cs: number[][] = [];
  for (let i = 0; i < p; i++) cs.push(Array.from({ length: h }, (_, j) => v(i, j)));
  for (let j = 0; j < h; j++) for (let a = 0; a < p; a++) for (let b = a + 1; b < p; b++) cs.push([-v(a, j), -v(b, j)]);
  return cs;
}
function minisat(cnf: number[][]): boolean | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'omni-sym-'));
  try {
    const n = Math.max(...cnf.flat().map(Math.abs));
    writeFileSync(join(dir, 'in'), `p cnf ${n} ${cnf.length}\n` + cnf.map((c) => c.join(' ') + ' 0').join('\n') + '\n');
    try {
      execFileSync('minisat', ['-verb=0', join(dir, 'in'), join(dir, 'out')], { stdio: 'ignore' });
    } catch (e) {
      const status = (e as { status?: number }).status;
      if (status === 10) return true;
      if (status === 20) return false;
      return undefined;
    }
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const hasMinisat = (() => {
  try {
    execFileSync('minisat', ['--help'], { stdio: 'ignore' });
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== 'ENOENT';
  }
})();
if (!hasMinisat && process.env.CI === 'true') throw new Error('minisat is required under CI (apt-get install minisat picosat)');

describe('sat', () => {
  it('models satisfy, UNSAT proofs check, agrees with minisat', async () => {
    const r = sym.sat.solve('(a or b) and not a');
    expect(r).toEqual({ sat: true, model: { a: false, b: true } });
    for (const [p, h] of [[4, 3], [6, 5]]) {
      const cnf = pigeonhole(p, h);
      const u = await sym.sat.solveAsync(cnf);
      expect(u.sat).toBe(false);
      if (u.sat === false) {
        expect(u.proof).not.toBeNull();
        expect(sym.sat.checkProof(cnf, u.proof!.text).valid).toBe(true);
      }
      const m = minisat(cnf);
      if (m !== undefined) expect(m).toBe(false);
    }
    expect(sym.sat.checkProof(pigeonhole(5, 4), '0\n').valid).toBe(false);
    expect(sym.sat.solve(pigeonhole(5, 4), { proof: false })).toEqual({ sat: false, proof: null });
    expect(sym.sat.canonical('not (a and b)')).toBe(sym.sat.canonical('not a or not b'));
    expect(err(() => sym.sat.solve([[1, 0]])).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
});
