import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { OmniError } from '../../ts/errors.js';
import * as lat from '../../ts/lattice/index.js';
import { thrown as err } from '../helpers/thrown.js';

const dir = mkdtempSync(join(tmpdir(), 'omni-lat-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function errAsync(f: () => Promise<unknown>): Promise<OmniError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(OmniError);
    return e as OmniError;
  }
  throw new Error('expected an OmniError');
}

const family = () =>
  lat.FormalContext.fromRows(['man', 'woman', 'boy', 'girl'], ['male', 'female', 'adult', 'child'], [
    ['male', 'adult'],
    ['female', 'adult'],
    ['male', 'child'],
    ['female', 'child'],
  ]);

describe('contexts', () => {
  it('from rows (names, indices, booleans), cxt and csv round trips', () => {
    const c = family();
    expect(c.has('boy', 'child')).toBe(true);
    expect(lat.FormalContext.fromRows(['a'], ['x', 'y'], [[false, true]]).rows).toEqual([[1]]);
    expect(lat.FormalContext.fromRows(['a'], ['x', 'y'], [[0]]).rows).toEqual([[0]]);
    const back = lat.FormalContext.fromCxt(c.toCxt());
    expect(back.rows).toEqual(c.rows);
    expect(lat.FormalContext.fromCsv(c.toCsv()).rows).toEqual(c.rows);
  });
  it('malformed files name the file and line', async () => {
    const f = join(dir, 'bad.cxt');
    writeFileSync(f, 'B\n\n2\n1\n\na\nb\nm\nX\nXX\n');
    const e = await errAsync(() => lat.FormalContext.readFile(f));
    expect(e.code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(e.message).toContain(`${f}:10: incidence row of object 'b' has 2 cells, expected 1`);
    const g = join(dir, 'bad.csv');
    writeFileSync(g, ',a,b\nx,X,\ny,X,?\n');
    expect((await errAsync(() => lat.FormalContext.readFile(g))).message).toContain(`${g}:3: column 'b': expected X or empty, found '?'`);
    expect((await errAsync(() => lat.FormalContext.readFile(join(dir, 'missing.cxt')))).code).toBe('ERR_OMNI_IO');
  });
  it('duplicate names and unknown attributes are rejected', () => {
    expect(err(() => lat.FormalContext.fromRows(['a', 'a'], ['x'], [[], []])).message).toMatch(/objects: duplicate name 'a'/);
    expect(err(() => lat.FormalContext.fromCsv(',x,x\n', 'd.csv')).message).toMatch(/d.csv:1: duplicate attribute name 'x'/);
    expect(err(() => lat.FormalContext.fromRows(['a'], ['x'], [['y']])).message).toBe("rows[0][0]: unknown attribute 'y'");
    expect(err(() => lat.FormalContext.fromRows(['a'], ['x'], [])).message).toMatch(/rows: expected 1 rows/);
  });
  it('conceptual scaling', () => {
    const c = lat.FormalContext.scale(['a', 'b', 'c'], [
      { name: 'color', values: ['red', 'blue', 'red'], scale: { kind: 'nominal' } },
      { name: 'size', values: [1, 5, null], scale: { kind: 'ordinal', thresholds: [2, 6] } },
      { name: 'w', values: [0, 10, 5], scale: { kind: 'interval', bounds: [0, 5, 10] } },
    ]);
    expect(c.attributes).toEqual(['color=red', 'color=blue', 'size<=2', 'size<=6', 'w in [0,5)', 'w in [5,10]']);
    expect(c.rows).toEqual([[0, 2, 3, 4], [1, 3, 5], [0, 5]]);
    expect(err(() => lat.FormalContext.scale(['a'], [{ name: 's', values: [1], scale: { kind: 'ordinal', thresholds: [3, 2] } }])).message).toMatch(/columns.s.thresholds: must be a non-empty strictly ascending/);
    expect(err(() => lat.FormalContext.scale(['a'], [{ name: 's', values: [1], scale: { kind: 'cubic' } as never }])).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
  });
});

describe('lattice', () => {
  it('builds, navigates and answers queries', async () => {
    const l = await lat.build(family());
    expect(l.size).toBe(10);
    const top = l.concept(l.top);
    expect(top.extent.sort()).toEqual(['boy', 'girl', 'man', 'woman']);
    expect(l.concept(l.bottom).intent.sort()).toEqual(['adult', 'child', 'female', 'male']);
    const man = l.conceptOf(['male', 'adult']);
    const woman = l.conceptOf(['female', 'adult']);
    expect(l.concept(l.join([man, woman])).intent).toEqual(['adult']);
    expect(l.meet([man, woman])).toBe(l.bottom);
    expect(l.supremum([man, woman])).toBe(l.join([woman, man]));
    expect(l.isSubconcept(man, l.conceptOf(['male']))).toBe(true);
    expect(l.isSubconceptMany([man, woman], [woman, l.top])).toEqual([false, true]);
    expect(l.ancestors(man).map((i) => l.concept(i).intent.join()).sort()).toEqual(['', 'adult', 'male']);
    expect(l.descendants(l.conceptOf(['male']))).toEqual([l.bottom, man, l.conceptOf(['male', 'child'])].sort((a, b) => a - b));
    expect(l.closure(['male', 'female'])).toEqual(['male', 'female', 'adult', 'child']);
    expect(l.objectsSharing(['adult'])).toEqual(['man', 'woman']);
    expect(l.isIntentMany([['adult'], ['adult', 'child']])).toEqual([true, false]);
    expect(l.conceptsWithAttributes(['adult']).map((i) => l.concept(i).intent.length).sort()).toEqual([1, 2, 2, 4]);
    // a new adult with no sex falls under "adult" exactly
    expect(l.classify(['adult']).map((i) => l.concept(i).intent)).toEqual([['adult']]);
    // male+female+adult is not closed: the most specific concepts below it
    expect(l.classify(['male', 'female', 'adult']).map((i) => l.concept(i).intent.join()).sort()).toEqual(['female,adult', 'male,adult']);
    expect(l.similarity(man, man)).toEqual({ extent: 1, intent: 1 });
    expect(l.similarity(man, woman).intent).toBeCloseTo(1 / 3);
    expect(l.levels()[l.top]).toBe(0);
    expect(l.byLevel()[0]).toEqual([l.top]);
    expect(l.iceberg(0.5).length).toBe(5);
    const st = l.stability();
    expect(st[l.top]).toBeGreaterThan(0);
    expect(st.every((x) => x >= 0 && x <= 1)).toBe(true);
    expect(l.covers().length).toBe(16);
  });
  it('implications, entailment and association rules', async () => {
    const l = lat.buildSync(family());
    const basis = l.implications();
    expect(await l.implicationsAsync()).toEqual(basis);
    expect(basis.map((b) => `${b.premise.join('+')}->${b.conclusion.join('+')}`)).toEqual(['adult+child->male+female', 'male+female->adult+child']);
    expect(l.entails(['male', 'female'], ['child'])).toBe(true);
    expect(l.entails(['male'], ['adult'])).toBe(false);
    expect(l.entailsMany([[['adult', 'child'], ['male']], [[], []]])).toEqual([true, true]);
    const rules = l.rules({ minConfidence: 0.5 });
    expect(rules.length).toBeGreaterThan(0);
    expect(rules[0]).toMatchObject({ premise: [], support: 0.5, confidence: 0.5 });
  });
  it('incremental updates equal the rebuilt lattice', () => {
    const l = lat.buildSync(family());
    l.addObject('grandpa', ['male', 'adult']);
    l.addObject('baby', []);
    l.addAttribute('old', ['grandpa']);
    l.removeObject('girl');
    l.removeAttribute('female');
    const fresh = lat.buildSync(l.context);
    const sig = (x: lat.ConceptLattice) => x.concepts().map((c) => `${[...c.extent].sort()}|${[...c.intent].sort()}`).sort();
    expect(sig(l)).toEqual(sig(fresh));
    expect(l.covers().length).toBe(fresh.covers().length);
    expect(err(() => l.addObject('man', [])).message).toMatch(/duplicate name 'man'/);
    expect(err(() => l.addObject('x', ['nope'])).message).toBe("attributes[0]: unknown attribute 'nope'");
    expect(err(() => l.removeObject('nobody')).message).toMatch(/unknown object 'nobody'/);
  });
  it('adding an object and removing it again restores the lattice exactly (concepts and covers)', () => {
    // A seeded 40 x 14 context (every row a random subset): adds of fresh rows create concepts.
    let s = 12345;
    const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 8) / (1 << 24);
    const attrs = Array.from({ length: 14 }, (_, j) => `m${j}`);
    const rows = Array.from({ length: 40 }, () => attrs.filter(() => rand() < 0.35));
    const l = lat.buildSync(lat.FormalContext.fromRows(rows.map((_, i) => `g${i}`), attrs, rows));
    // The whole lattice by content: ids are renumbered by a remove, so each concept is named
    // by its intent and each cover by the pair of intents.
    const snapshot = (x: lat.ConceptLattice) => {
      const j = x.toJSON();
      const key = (id: number) => [...j.concepts[id].intent].sort().join(',');
      return {
        concepts: j.concepts.map((c) => `${[...c.intent].sort()}|${[...c.extent].sort()}`).sort(),
        covers: x.covers().map(([a, b]) => `${key(a)} < ${key(b)}`).sort(),
        upper: j.concepts.map((c, i) => `${key(i)} > ${c.upper.map(key).sort().join(';')}`).sort(),
        lower: j.concepts.map((c, i) => `${key(i)} < ${c.lower.map(key).sort().join(';')}`).sort(),
        top: key(j.top),
        bottom: key(j.bottom),
      };
    };
    const before = snapshot(l);
    let grew = 0;
    for (let i = 0; i < 25; i++) {
      const size = l.size;
      l.addObject(`fresh${i}`, attrs.filter(() => rand() < 0.5));
      if (l.size > size) grew++;
      l.removeObject(`fresh${i}`);
      expect(l.size).toBe(size);
      expect(snapshot(l)).toEqual(before);
    }
    expect(grew).toBeGreaterThan(10); // the adds did create (and the removes delete) concepts
    expect(l.context.objects).toEqual(rows.map((_, i) => `g${i}`));
    expect(snapshot(lat.buildSync(l.context))).toEqual(before);
  });
  it('concept limit: ERR_OMNI_LIMIT with the count, nothing half-applied', async () => {
    const n = 16;
    const names = Array.from({ length: n }, (_, i) => `a${i}`);
    // the contranominal scale has 2^n concepts
    const ctx = lat.FormalContext.fromRows(names.map((a) => `o${a}`), names, names.map((_, i) => names.filter((_, j) => j !== i)));
    const e = await errAsync(() => lat.build(ctx, { limit: 1000 }));
    expect(e.code).toBe('ERR_OMNI_LIMIT');
    expect(e.message).toMatch(/more than 1000 concepts \(stopped at \d+\)/);
    expect(e).toMatchObject({ limit: 1000 });
    expect((e as unknown as { count: number }).count).toBeGreaterThan(1000);
    const small = lat.buildSync(lat.FormalContext.fromRows(['x', 'y'], ['p', 'q'], [['p'], ['q']]), { limit: 4 });
    small.addObject('z', []); // its intent already exists: no new concept, within the limit
    expect(small.size).toBe(4);
    const tight = lat.buildSync(lat.FormalContext.fromRows(['x', 'y'], ['p', 'q', 'r'], [['p', 'q'], ['q', 'r']]), { limit: 5 });
    const before = tight.size;
    const te = err(() => tight.addObject('z', ['p', 'r']));
    expect(te.code).toBe('ERR_OMNI_LIMIT');
    expect(te).toMatchObject({ code: 'ERR_OMNI_LIMIT', limit: 5, count: 8 });
    expect(tight.size).toBe(before);
    expect(tight.context.objects).toEqual(['x', 'y']);
    expect(err(() => lat.buildSync(ctx, { limit: 0 })).message).toMatch(/^options.limit/);
  });
  it('queries validate ids and attributes', () => {
    const l = lat.buildSync(family());
    expect(err(() => l.closure(['male', 'tall'])).message).toBe("sets[0][1]: unknown attribute 'tall'");
    expect(err(() => l.join([0, 99])).message).toMatch(/ids\[1\]: expected a concept id in 0..9/);
    expect(err(() => l.concept(-1)).code).toBe('ERR_OMNI_INVALID_ARGUMENT');
    expect(err(() => l.closureManyPacked({ data: Uint32Array.of(7), ends: Uint32Array.of(1) })).message).toMatch(/sets\[0\]: unknown attribute index 7/);
    expect(err(() => l.closureManyPacked({ data: Uint32Array.of(1), ends: Uint32Array.of(2) })).message).toMatch(/out of order or past the data/);
    const p = l.closureManyPacked({ data: Uint32Array.of(0, 1), ends: Uint32Array.of(1, 2) });
    expect(Array.from(p.ends)).toEqual([1, 2]);
    expect(err(() => l.closureManyWords({ data: Uint32Array.of(0, 9), ends: Uint32Array.of(1, 2) })).message).toMatch(/sets\[1\]: unknown attribute index 9/);
  });
  it('closure bit words agree with the named closures', () => {
    const l = lat.buildSync(family());
    const sets = [['male', 'female'], ['adult'], [], ['child', 'female']];
    const { words, stride } = l.closureManyWords(sets);
    const names = l.context.attributes;
    expect(stride).toBe(1);
    expect(words).toHaveLength(sets.length);
    const decoded = sets.map((_, i) => names.filter((_, j) => ((words[i * stride + (j >>> 5)] >>> (j & 31)) & 1) === 1));
    expect(decoded.map((d) => [...d].sort())).toEqual(l.closureMany(sets).map((c) => [...c].sort()));
  });
  it('exports JSON, DOT and SVG', () => {
    const l = lat.buildSync(family());
    const j = l.toJSON();
    expect(j.concepts).toHaveLength(10);
    expect(j.concepts[j.top].extent).toHaveLength(4);
    const dot = l.toDot();
    expect(dot).toMatch(/^digraph lattice \{/);
    expect((dot.match(/ -> /g) ?? []).length).toBe(16);
    const svg = l.toSvg();
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    expect((svg.match(/<circle /g) ?? []).length).toBe(10);
    expect((svg.match(/<line /g) ?? []).length).toBe(16);
    expect(svg).toContain('>male<');
    expect(svg).toContain('>boy<');
  });
});
