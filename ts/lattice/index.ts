/**
 * omnitide/lattice: Formal Concept Analysis. Formal contexts (arrays, CSV,
 * Burmeister `.cxt`, conceptual scaling), concept lattices mined natively with
 * FCbO on all cores, incremental updates (AddIntent), lattice operations and
 * queries, the Duquenne–Guigues basis, association rules, JSON/DOT/SVG export.
 * All computation happens in the native crate; this module validates and maps
 * names to indices.
 */
import { readFile } from 'node:fs/promises';
import { extname } from 'node:path';
import { z } from 'zod';
import { OmniError, callNative, callNativeAsync, invalidArgument } from '../errors.js';
import { native } from '../native.js';
import { describe, parseOptions } from '../validate.js';

type Handle = InstanceType<typeof native.LatticeHandle>;
interface ContextData { objects: string[]; attributes: string[]; rowData: Uint32Array; rowEnds: Uint32Array }

/** Index sets packed back to back: set i is `data[ends[i-1] .. ends[i]]`. */
export interface Packed { data: Uint32Array; ends: Uint32Array }

function isPacked(v: unknown): v is Packed {
  return typeof v === 'object' && v !== null && (v as Packed).data instanceof Uint32Array && (v as Packed).ends instanceof Uint32Array;
}

function unpack(p: Packed): number[][] {
  const out: number[][] = [];
  let s = 0;
  for (const e of p.ends) {
    out.push(Array.from(p.data.subarray(s, e)));
    s = e;
  }
  return out;
}

function nameList(arg: string, v: unknown): string[] {
  if (!Array.isArray(v)) throw invalidArgument(arg, `expected an array of names, got ${describe(v)}`);
  v.forEach((x, i) => {
    if (typeof x !== 'string') throw invalidArgument(`${arg}[${i}]`, `expected a string, got ${describe(x)}`);
  });
  return v as string[];
}

function indexOf(names: readonly string[]): Map<string, number> {
  return new Map(names.map((n, i) => [n, i]));
}

/** Names (or indices) to indices, with an error naming the unknown one. */
function toIndices(arg: string, what: 'attribute' | 'object', v: unknown, index: Map<string, number>, count: number): number[] {
  if (!Array.isArray(v)) throw invalidArgument(arg, `expected an array of ${what} names, got ${describe(v)}`);
  return v.map((x, i) => {
    if (typeof x === 'string') {
      const k = index.get(x);
      if (k === undefined) throw invalidArgument(`${arg}[${i}]`, `unknown ${what} '${x}'`);
      return k;
    }
    if (typeof x === 'number' && Number.isInteger(x) && x >= 0 && x < count) return x;
    throw invalidArgument(`${arg}[${i}]`, `expected an ${what} name or index below ${count}, got ${JSON.stringify(x)}`);
  });
}

function packLists(lists: number[][]): Packed {
  let total = 0;
  for (const l of lists) total += l.length;
  const data = new Uint32Array(total);
  const ends = new Uint32Array(lists.length);
  let at = 0;
  lists.forEach((l, i) => {
    data.set(l, at);
    at += l.length;
    ends[i] = at;
  });
  return { data, ends };
}

/** A formal context: objects × attributes with an incidence relation. Immutable. */
export class FormalContext {
  readonly objects: readonly string[];
  readonly attributes: readonly string[];
  /** Attribute indices of each object. */
  readonly rows: readonly (readonly number[])[];
  /** @internal */ readonly packed: Packed;
  #attrIndex?: Map<string, number>;
  #objIndex?: Map<string, number>;

  /** @internal */
  constructor(d: ContextData) {
    this.objects = Object.freeze([...d.objects]);
    this.attributes = Object.freeze([...d.attributes]);
    this.packed = { data: d.rowData, ends: d.rowEnds };
    this.rows = Object.freeze(unpack(this.packed).map((r) => Object.freeze(r)));
  }

  /** @internal */ get attrIndex(): Map<string, number> {
    return (this.#attrIndex ??= indexOf(this.attributes));
  }
  /** @internal */ get objIndex(): Map<string, number> {
    return (this.#objIndex ??= indexOf(this.objects));
  }

  /**
   * From arrays: `rows[i]` is object i's attributes, as names, indices, or a
   * boolean per attribute.
   */
  static fromRows(objects: string[], attributes: string[], rows: (readonly (string | number)[] | readonly boolean[])[]): FormalContext {
    nameList('objects', objects);
    nameList('attributes', attributes);
    if (!Array.isArray(rows)) throw invalidArgument('rows', `expected an array (one row per object), got ${describe(rows)}`);
    if (rows.length !== objects.length) throw invalidArgument('rows', `expected ${objects.length} rows (one per object), got ${rows.length}`);
    const index = indexOf(attributes);
    const lists = rows.map((r, g) => {
      if (Array.isArray(r) && r.length > 0 && r.every((x) => typeof x === 'boolean')) {
        if (r.length !== attributes.length) throw invalidArgument(`rows[${g}]`, `expected ${attributes.length} booleans, got ${r.length}`);
        return r.flatMap((x, i) => (x ? [i] : []));
      }
      return toIndices(`rows[${g}]`, 'attribute', r, index, attributes.length);
    });
    const p = packLists(lists);
    return new FormalContext(callNative(() => native.latticeMakeContext(objects, attributes, p.data, p.ends)));
  }
  /** Parses a Burmeister `.cxt` text (ConExp, `concepts`); errors name `file` and the line. */
  static fromCxt(text: string, file = '<cxt>'): FormalContext {
    if (typeof text !== 'string') throw invalidArgument('text', `expected the .cxt text, got ${describe(text)}`);
    return new FormalContext(callNative(() => native.latticeParseContext(text, 'cxt', String(file))));
  }
  /** Parses CSV: a header `,attr1,attr2,…` then `object,X,,…` rows. */
  static fromCsv(text: string, file = '<csv>'): FormalContext {
    if (typeof text !== 'string') throw invalidArgument('text', `expected CSV text, got ${describe(text)}`);
    return new FormalContext(callNative(() => native.latticeParseContext(text, 'csv', String(file))));
  }
  /** Reads a `.cxt` or `.csv` file (by extension unless `format` is given). */
  static async readFile(path: string, format?: 'cxt' | 'csv'): Promise<FormalContext> {
    if (typeof path !== 'string') throw invalidArgument('path', `expected a file path, got ${describe(path)}`);
    const f = format ?? (extname(path).toLowerCase() === '.csv' ? 'csv' : 'cxt');
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (err) {
      throw new OmniError('ERR_OMNI_IO', `path: cannot read ${path}: ${(err as Error).message}`, { cause: err });
    }
    return f === 'csv' ? FormalContext.fromCsv(text, path) : FormalContext.fromCxt(text, path);
  }
  /** Conceptual scaling of a many-valued context into a formal one. */
  static scale(objects: string[], columns: ManyValuedColumn[]): FormalContext {
    nameList('objects', objects);
    const cols = parseOptions('columns', z.array(columnSchema), columns);
    return new FormalContext(callNative(() => native.latticeScale(JSON.stringify({ objects, columns: cols }))));
  }

  has(object: string, attribute: string): boolean {
    const g = this.objIndex.get(object);
    const m = this.attrIndex.get(attribute);
    if (g === undefined) throw invalidArgument('object', `unknown object '${object}'`);
    if (m === undefined) throw invalidArgument('attribute', `unknown attribute '${attribute}'`);
    return this.rows[g].includes(m);
  }
  toCxt(): string {
    return callNative(() => native.latticeFormatContext([...this.objects], [...this.attributes], this.packed.data, this.packed.ends, 'cxt'));
  }
  toCsv(): string {
    return callNative(() => native.latticeFormatContext([...this.objects], [...this.attributes], this.packed.data, this.packed.ends, 'csv'));
  }
}

export type Scale =
  | { kind: 'nominal' }
  | { kind: 'ordinal'; thresholds: number[]; descending?: boolean }
  | { kind: 'interordinal'; thresholds: number[] }
  | { kind: 'interval'; bounds: number[] };
export interface ManyValuedColumn {
  name: string;
  /** One value per object; `null` is missing. */
  values: (string | number | boolean | null)[];
  scale: Scale;
}
const columnSchema = z.strictObject({
  name: z.string().min(1),
  values: z.array(z.union([z.string(), z.number(), z.boolean(), z.null()])),
  scale: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('nominal') }),
    z.strictObject({ kind: z.literal('ordinal'), thresholds: z.array(z.number()).min(1), descending: z.boolean().optional() }),
    z.strictObject({ kind: z.literal('interordinal'), thresholds: z.array(z.number()).min(1) }),
    z.strictObject({ kind: z.literal('interval'), bounds: z.array(z.number()).min(2) }),
  ]),
});

export interface BuildOptions {
  /** Most concepts allowed before `ERR_OMNI_LIMIT` (default 2,000,000). */
  limit?: number;
  /** Memory budget for the concepts in bytes (default 1 GiB); caps `limit`. */
  maxBytes?: number;
}
const buildSchema = z.strictObject({ limit: z.number().int().min(1).optional(), maxBytes: z.number().int().min(1).optional() });

export interface Concept {
  id: number;
  extent: string[];
  intent: string[];
}
export interface Implication {
  premise: string[];
  conclusion: string[];
  /** Objects having every premise attribute. */
  support: number;
}
export interface AssociationRule {
  premise: string[];
  conclusion: string[];
  /** Share of objects having premise and conclusion. */
  support: number;
  confidence: number;
}

type AttrSets = (string | number)[][] | Packed;

function contextArg(v: unknown): FormalContext {
  if (!(v instanceof FormalContext)) throw invalidArgument('context', `expected a FormalContext, got ${describe(v)}`);
  return v;
}

/** Builds the concept lattice off the event loop (mining runs on all cores). */
export async function build(context: FormalContext, options?: BuildOptions): Promise<ConceptLattice> {
  const c = contextArg(context);
  const o = parseOptions('options', buildSchema, options ?? {});
  const h = await callNativeAsync(() => native.latticeBuildAsync([...c.objects], [...c.attributes], c.packed.data, c.packed.ends, o));
  return new ConceptLattice(h);
}
/** Synchronous build for small contexts. */
export function buildSync(context: FormalContext, options?: BuildOptions): ConceptLattice {
  const c = contextArg(context);
  const o = parseOptions('options', buildSchema, options ?? {});
  return new ConceptLattice(callNative(() => native.LatticeHandle.build([...c.objects], [...c.attributes], c.packed.data, c.packed.ends, o)));
}

const DEFAULT_BASIS_LIMIT = 1_000_000;

/** A concept lattice. Concept ids are dense (0..size-1); updates may renumber them. */
export class ConceptLattice {
  #h: Handle;
  #ctx?: FormalContext;
  #extents?: number[][];
  #intents?: number[][];
  #upper?: number[][];
  #lower?: number[][];
  #size?: number;
  #attrInfo?: { names: string[]; index: Map<string, number> };
  #objInfo?: { names: string[]; index: Map<string, number> };

  /** @internal */
  constructor(h: Handle) {
    this.#h = h;
  }
  /** Drops the cached views after an update (names only when they can have changed). */
  #changed(what: 'objects' | 'attributes'): void {
    this.#ctx = this.#extents = this.#intents = this.#upper = this.#lower = this.#size = undefined;
    if (what === 'objects') this.#objInfo = undefined;
    else this.#attrInfo = undefined;
  }
  get #attrsInfo(): { names: string[]; index: Map<string, number> } {
    if (!this.#attrInfo) {
      const names = callNative(() => this.#h.attributeNames());
      this.#attrInfo = { names, index: indexOf(names) };
    }
    return this.#attrInfo;
  }
  get #objsInfo(): { names: string[]; index: Map<string, number> } {
    if (!this.#objInfo) {
      const names = callNative(() => this.#h.objectNames());
      this.#objInfo = { names, index: indexOf(names) };
    }
    return this.#objInfo;
  }
  get context(): FormalContext {
    return (this.#ctx ??= new FormalContext(callNative(() => this.#h.context())));
  }
  get size(): number {
    return (this.#size ??= callNative(() => this.#h.size));
  }
  /** The most general concept (all objects). */
  get top(): number {
    return callNative(() => this.#h.top);
  }
  /** The most specific concept (all attributes). */
  get bottom(): number {
    return callNative(() => this.#h.bottom);
  }

  #id(arg: string, v: unknown): number {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= this.size) throw invalidArgument(arg, `expected a concept id in 0..${this.size - 1}, got ${JSON.stringify(v)}`);
    return v;
  }
  #ids(arg: string, v: unknown): Uint32Array {
    if (v instanceof Uint32Array) return v;
    if (!Array.isArray(v)) throw invalidArgument(arg, `expected an array of concept ids, got ${describe(v)}`);
    return Uint32Array.from(v.map((x, i) => this.#id(`${arg}[${i}]`, x)));
  }
  #attrs(arg: string, v: unknown): number[] {
    const a = this.#attrsInfo;
    return toIndices(arg, 'attribute', v, a.index, a.names.length);
  }
  #objs(arg: string, v: unknown): number[] {
    const o = this.#objsInfo;
    return toIndices(arg, 'object', v, o.index, o.names.length);
  }
  #sets(arg: string, v: unknown): Packed {
    if (isPacked(v)) return v;
    if (!Array.isArray(v)) throw invalidArgument(arg, `expected an array of attribute lists or { data, ends }, got ${describe(v)}`);
    return packLists(v.map((s, i) => this.#attrs(`${arg}[${i}]`, s)));
  }
  #attrNames(idx: Iterable<number>): string[] {
    const a = this.#attrsInfo.names;
    return Array.from(idx, (i) => a[i]);
  }
  #objNames(idx: Iterable<number>): string[] {
    const o = this.#objsInfo.names;
    return Array.from(idx, (i) => o[i]);
  }

  /** Extent and intent of a concept, by name. */
  concept(id: number): Concept {
    const i = this.#id('id', id);
    this.#extents ??= unpack(callNative(() => this.#h.extents()));
    this.#intents ??= unpack(callNative(() => this.#h.intents()));
    return { id: i, extent: this.#objNames(this.#extents[i]), intent: this.#attrNames(this.#intents[i]) };
  }
  concepts(): Concept[] {
    return Array.from({ length: this.size }, (_, i) => this.concept(i));
  }
  upperCovers(id: number): number[] {
    const i = this.#id('id', id);
    return [...(this.#upper ??= unpack(callNative(() => this.#h.upperCovers())))[i]];
  }
  lowerCovers(id: number): number[] {
    const i = this.#id('id', id);
    return [...(this.#lower ??= unpack(callNative(() => this.#h.lowerCovers())))[i]];
  }
  /** All cover pairs [lower, upper] of the Hasse diagram. */
  covers(): [number, number][] {
    this.#upper ??= unpack(callNative(() => this.#h.upperCovers()));
    return this.#upper.flatMap((ups, i) => ups.map((u) => [i, u] as [number, number]));
  }
  ancestors(id: number): number[] {
    return Array.from(callNative(() => this.#h.ancestors(this.#id('id', id))));
  }
  descendants(id: number): number[] {
    return Array.from(callNative(() => this.#h.descendants(this.#id('id', id))));
  }
  /** Is `a` a subconcept of `b` (a ≤ b)? */
  isSubconcept(a: number, b: number): boolean {
    return callNative(() => this.#h.leqMany(Uint32Array.of(this.#id('a', a)), Uint32Array.of(this.#id('b', b))))[0] === 1;
  }
  /** Batch subconcept test: a[i] ≤ b[i]. */
  isSubconceptMany(a: number[] | Uint32Array, b: number[] | Uint32Array): boolean[] {
    return Array.from(callNative(() => this.#h.leqMany(this.#ids('a', a), this.#ids('b', b))), (x) => x === 1);
  }
  /** Supremum (least common superconcept) of any set of concepts; of none, the bottom. */
  join(ids: number[]): number {
    return callNative(() => this.#h.join(this.#ids('ids', ids)));
  }
  /** Infimum (greatest common subconcept) of any set of concepts; of none, the top. */
  meet(ids: number[]): number {
    return callNative(() => this.#h.meet(this.#ids('ids', ids)));
  }
  supremum(ids: number[]): number {
    return this.join(ids);
  }
  infimum(ids: number[]): number {
    return this.meet(ids);
  }
  /** Longest-path level of each concept from the top (top = 0). */
  levels(): number[] {
    return Array.from(callNative(() => this.#h.levels()));
  }
  /** Concepts per level, general to specific (for browsing). */
  byLevel(): number[][] {
    const out: number[][] = [];
    this.levels().forEach((l, i) => (out[l] ??= []).push(i));
    return out;
  }
  /** Intensional stability index of each concept (exact; `maxConcepts` guards the quadratic cost). */
  stability(options?: { maxConcepts?: number }): number[] {
    const o = parseOptions('options', z.strictObject({ maxConcepts: z.number().int().min(1).max(0xffff_ffff).optional() }), options ?? {});
    return Array.from(callNative(() => this.#h.stability(o.maxConcepts ?? 20_000)));
  }
  /** Iceberg lattice: ids of the concepts whose extent has at least `minSupport`
   *  objects (a count >= 1) or that share of all objects (a fraction < 1). */
  iceberg(minSupport: number): number[] {
    if (typeof minSupport !== 'number' || !(minSupport >= 0) || !Number.isFinite(minSupport)) throw invalidArgument('minSupport', `expected a count or a fraction in [0, 1), got ${String(minSupport)}`);
    const count = minSupport < 1 ? Math.ceil(minSupport * this.#objsInfo.names.length) : Math.ceil(minSupport);
    return Array.from(callNative(() => this.#h.iceberg(Math.min(count, 0xffff_ffff))));
  }

  /** B'': the closure of an attribute set. */
  closure(attributes: (string | number)[]): string[] {
    return this.closureMany([attributes])[0];
  }
  closureMany(sets: (string | number)[][]): string[][] {
    return unpack(this.closureManyPacked(this.#sets('sets', sets))).map((s) => this.#attrNames(s));
  }
  /** Closures of packed attribute-index sets, packed (the throughput form). */
  closureManyPacked(sets: Packed): Packed {
    const p = this.#sets('sets', sets);
    return callNative(() => this.#h.closureMany(p.data, p.ends));
  }
  /**
   * Closures as bit words (the fastest form): `stride` = ceil(attributes / 32)
   * words per set; attribute j is in closure i when
   * `(words[i * stride + (j >>> 5)] >>> (j & 31)) & 1`.
   */
  closureManyWords(sets: AttrSets): { words: Uint32Array; stride: number } {
    const p = this.#sets('sets', sets);
    const words = callNative(() => this.#h.closureWordsMany(p.data, p.ends));
    return { words, stride: Math.ceil(this.#attrsInfo.names.length / 32) };
  }
  /** Is the set an intent of the lattice (membership), for each set. */
  isIntentMany(sets: AttrSets): boolean[] {
    const p = this.#sets('sets', sets);
    return Array.from(callNative(() => this.#h.isIntentMany(p.data, p.ends)), (x) => x === 1);
  }
  /** Packed membership answers (1/0). */
  isIntentManyPacked(sets: Packed): Uint8Array {
    const p = this.#sets('sets', sets);
    return callNative(() => this.#h.isIntentMany(p.data, p.ends));
  }
  /** Objects having all the given attributes (B'). */
  objectsSharing(attributes: (string | number)[]): string[] {
    const id = this.conceptOf(attributes);
    return this.concept(id).extent;
  }
  /** The concept generated by an attribute set: (B', B''). */
  conceptOf(attributes: (string | number)[]): number {
    return this.conceptOfMany([attributes])[0];
  }
  conceptOfMany(sets: AttrSets): number[] {
    const p = this.#sets('sets', sets);
    return Array.from(callNative(() => this.#h.conceptOfMany(p.data, p.ends)));
  }
  /** The concept generated by an object set: (A'', A'). */
  conceptOfObjects(objects: (string | number)[]): number {
    const p = packLists([this.#objs('objects', objects)]);
    return callNative(() => this.#h.conceptOfObjectsMany(p.data, p.ends))[0];
  }
  /** Concepts whose intent contains all the given attributes (general to specific by id). */
  conceptsWithAttributes(attributes: (string | number)[]): number[] {
    return this.conceptsWithAttributesMany([attributes])[0];
  }
  conceptsWithAttributesMany(sets: AttrSets): number[][] {
    const p = this.#sets('sets', sets);
    return unpack(callNative(() => this.#h.conceptsWithAttributesMany(p.data, p.ends)));
  }
  /** Classification: the most specific concepts whose intent is within the new
   *  object's attributes (one concept when the attribute set is closed). */
  classify(attributes: (string | number)[]): number[] {
    return this.classifyMany([attributes])[0];
  }
  classifyMany(sets: AttrSets): number[][] {
    const p = this.#sets('sets', sets);
    return unpack(callNative(() => this.#h.classifyMany(p.data, p.ends)));
  }
  /** Jaccard similarity of two concepts' extents and intents. */
  similarity(a: number, b: number): { extent: number; intent: number } {
    const r = callNative(() => this.#h.similarityMany(Uint32Array.of(this.#id('a', a)), Uint32Array.of(this.#id('b', b))));
    return { extent: r[0], intent: r[1] };
  }

  /** Adds an object (AddIntent); returns its object concept's id. Ids of existing concepts are kept. */
  addObject(name: string, attributes: (string | number)[]): number {
    if (typeof name !== 'string') throw invalidArgument('name', `expected a string, got ${describe(name)}`);
    const idx = Uint32Array.from(this.#attrs('attributes', attributes));
    const r = callNative(() => this.#h.addObject(name, idx));
    this.#changed('objects');
    return r;
  }
  /** Removes an object; concepts that stop being closed disappear (ids are renumbered). */
  removeObject(name: string): void {
    if (typeof name !== 'string') throw invalidArgument('name', `expected a string, got ${describe(name)}`);
    callNative(() => this.#h.removeObject(name));
    this.#changed('objects');
  }
  addAttribute(name: string, objects: (string | number)[]): number {
    if (typeof name !== 'string') throw invalidArgument('name', `expected a string, got ${describe(name)}`);
    const idx = Uint32Array.from(this.#objs('objects', objects));
    const r = callNative(() => this.#h.addAttribute(name, idx));
    this.#changed('attributes');
    return r;
  }
  removeAttribute(name: string): void {
    if (typeof name !== 'string') throw invalidArgument('name', `expected a string, got ${describe(name)}`);
    callNative(() => this.#h.removeAttribute(name));
    this.#changed('attributes');
  }

  /** The Duquenne–Guigues canonical basis (premises are the pseudo-intents, lectic order). */
  implications(options?: { limit?: number }): Implication[] {
    const o = parseOptions('options', z.strictObject({ limit: z.number().int().min(1).max(0xffff_ffff).optional() }), options ?? {});
    const raw = JSON.parse(callNative(() => this.#h.implications(o.limit ?? DEFAULT_BASIS_LIMIT))) as { premise: number[]; conclusion: number[]; support: number }[];
    return raw.map((r) => ({ premise: this.#attrNames(r.premise), conclusion: this.#attrNames(r.conclusion), support: r.support }));
  }
  /** `implications` off the event loop (the basis can take long on large contexts). */
  async implicationsAsync(options?: { limit?: number }): Promise<Implication[]> {
    const o = parseOptions('options', z.strictObject({ limit: z.number().int().min(1).max(0xffff_ffff).optional() }), options ?? {});
    const raw = JSON.parse(await callNativeAsync(() => this.#h.implicationsAsync(o.limit ?? DEFAULT_BASIS_LIMIT))) as { premise: number[]; conclusion: number[]; support: number }[];
    return raw.map((r) => ({ premise: this.#attrNames(r.premise), conclusion: this.#attrNames(r.conclusion), support: r.support }));
  }
  /** Does `premise → conclusion` hold in the context (answered from the canonical basis)? */
  entails(premise: (string | number)[], conclusion: (string | number)[]): boolean {
    return this.entailsMany([[premise, conclusion]])[0];
  }
  entailsMany(pairs: [(string | number)[], (string | number)[]][]): boolean[] {
    if (!Array.isArray(pairs)) throw invalidArgument('pairs', `expected an array of [premise, conclusion], got ${describe(pairs)}`);
    const ps = packLists(pairs.map((p, i) => this.#attrs(`pairs[${i}][0]`, Array.isArray(p) ? p[0] : undefined)));
    const cs = packLists(pairs.map((p, i) => this.#attrs(`pairs[${i}][1]`, Array.isArray(p) ? p[1] : undefined)));
    return Array.from(callNative(() => this.#h.entailsMany(ps.data, ps.ends, cs.data, cs.ends, DEFAULT_BASIS_LIMIT)), (x) => x === 1);
  }
  /** Association rules along the covers (Luxenburger basis), by confidence then support. */
  rules(options?: { minSupport?: number; minConfidence?: number }): AssociationRule[] {
    const o = parseOptions('options', z.strictObject({ minSupport: z.number().min(0).max(1).optional(), minConfidence: z.number().min(0).max(1).optional() }), options ?? {});
    const raw = JSON.parse(callNative(() => this.#h.rules(o.minSupport ?? 0, o.minConfidence ?? 0))) as { premise: number[]; conclusion: number[]; support: number; confidence: number }[];
    return raw.map((r) => ({ ...r, premise: this.#attrNames(r.premise), conclusion: this.#attrNames(r.conclusion) }));
  }

  toJSON(): { objects: string[]; attributes: string[]; top: number; bottom: number; concepts: (Concept & { upper: number[]; lower: number[] })[] } {
    return JSON.parse(callNative(() => this.#h.export('json')));
  }
  /** Graphviz DOT with reduced labels (attributes at attribute concepts, objects at object concepts). */
  toDot(): string {
    return callNative(() => this.#h.export('dot'));
  }
  /** A standalone SVG of the Hasse diagram (layered layout). */
  toSvg(): string {
    return callNative(() => this.#h.export('svg'));
  }
}
