import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { native } from '../../ts/native.js';

// Issue 12 item 3: the symbolic binding returns typed objects (declared in bindings/index.d.ts), not JSON strings that
// the TS layer parses and casts.
describe('symbolic binding: typed objects across N-API', () => {
  it('returns objects and numbers, IEEE values included', () => {
    const s = native.symbolicSimplify('(x^2-1)/(x-1)');
    expect(s).toEqual({ expr: 'x + 1', conditions: ['x - 1 != 0'] });
    const d = native.symbolicEquivalent('x', 'x + 1');
    expect(d.status).toBe('different');
    if (d.status === 'different') expect(Math.abs(d.values[0] - d.values[1])).toBeCloseTo(1);
    expect(native.symbolicEvaluate('1/0', {})).toBe(Infinity);
    expect(native.symbolicEvaluate('0/0', {})).toBeNaN();
    const u = native.symbolicSatSolve({ clauses: [[1], [-1]] }, true);
    expect(u.kind).toBe('unsat');
  });
  it('has no JSON entry point and the TS layer parses no JSON', () => {
    expect((native as Record<string, unknown>).symbolicCall).toBeUndefined();
    const dts = readFileSync(resolve(__dirname, '../../bindings/index.d.ts'), 'utf8');
    expect(dts).toMatch(/symbolicSimplify\(expr: string, options\?: SymbolicOptions[^)]*\): SymbolicSimplified/);
    const src = readFileSync(resolve(__dirname, '../../ts/symbolic/index.ts'), 'utf8');
    expect(src).not.toMatch(/JSON\.(parse|stringify)/);
    expect(src).not.toMatch(/as unknown as/);
  });
});
