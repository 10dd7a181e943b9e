import { writeFileSync } from 'node:fs';
import * as lat from '../lattice/index.js';
import { type Command, type CommandGroup, out, parse, printJson, UsageError } from './command.js';

const fileOpts = { format: { type: 'string' as const }, limit: { type: 'string' as const } };

function one(positionals: string[], what: string): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one ${what}, got ${positionals.length}`);
  return positionals[0];
}

function intFlag(name: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${String(v)}'`);
  return n;
}
function fraction(name: string, v: unknown, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!(n >= 0 && n <= 1)) throw new UsageError(`--${name} must be a number in [0, 1], got '${String(v)}'`);
  return n;
}
function list(v: unknown): string[] {
  return typeof v === 'string' && v.length > 0 ? v.split(',').map((s) => s.trim()) : [];
}

async function load(argv: string[], extra: Parameters<typeof parse>[1] = {}) {
  const { values, positionals } = parse(argv, { ...fileOpts, ...extra });
  const file = one(positionals, 'context file (.cxt or .csv)');
  const format = values.format;
  if (format !== undefined && format !== 'cxt' && format !== 'csv') throw new UsageError(`--format must be cxt or csv, got '${format}'`);
  const ctx = await lat.FormalContext.readFile(file, format);
  const lattice = await lat.build(ctx, { limit: intFlag('limit', values.limit) });
  return { values, ctx, lattice };
}

const build: Command = {
  summary: 'build the concept lattice of a .cxt/.csv context and summarise it',
  usage: 'omnitide lattice build FILE [--format cxt|csv] [--limit N] [--json]',
  async run(argv) {
    const t0 = process.hrtime.bigint();
    const { values, ctx, lattice } = await load(argv);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    const levels = lattice.levels();
    const r = { objects: ctx.objects.length, attributes: ctx.attributes.length, concepts: lattice.size, covers: lattice.covers().length, levels: Math.max(0, ...levels) + 1, ms: Math.round(ms * 1000) / 1000 };
    if (values.json) printJson(r);
    else out(`${r.objects} objects x ${r.attributes} attributes: ${r.concepts} concepts, ${r.covers} covers, ${r.levels} levels (${r.ms} ms)`);
    return 0;
  },
};

const query: Command = {
  summary: 'closure, shared objects, concepts containing, or classification of an attribute set',
  usage: 'omnitide lattice query FILE --attrs a,b [--op closure|objects|concepts|classify|entails] [--then c,d] [--json]',
  async run(argv) {
    const { values, lattice } = await load(argv, { attrs: { type: 'string' }, op: { type: 'string' }, then: { type: 'string' } });
    const attrs = list(values.attrs);
    const op = values.op ?? 'closure';
    let r: unknown;
    if (op === 'closure') r = { closure: lattice.closure(attrs) };
    else if (op === 'objects') r = { objects: lattice.objectsSharing(attrs) };
    else if (op === 'concepts') r = { concepts: lattice.conceptsWithAttributes(attrs).map((id) => lattice.concept(id)) };
    else if (op === 'classify') r = { concepts: lattice.classify(attrs).map((id) => lattice.concept(id)) };
    else if (op === 'entails') r = { entails: lattice.entails(attrs, list(values.then)) };
    else throw new UsageError(`--op must be closure, objects, concepts, classify or entails, got '${op}'`);
    if (values.json) printJson(r);
    else {
      const o = r as Record<string, unknown>;
      if ('concepts' in o) for (const c of o.concepts as lat.Concept[]) out(`#${c.id} {${c.extent.join(', ')}} x {${c.intent.join(', ')}}`);
      else out(Array.isArray(Object.values(o)[0]) ? (Object.values(o)[0] as string[]).join(', ') : String(Object.values(o)[0]));
    }
    return op === 'entails' && !(r as { entails: boolean }).entails ? 1 : 0;
  },
};

const implications: Command = {
  summary: 'the Duquenne-Guigues canonical basis (or association rules with --rules)',
  usage: 'omnitide lattice implications FILE [--rules] [--min-support F] [--min-confidence F] [--json]',
  async run(argv) {
    const { values, lattice } = await load(argv, { rules: { type: 'boolean' }, 'min-support': { type: 'string' }, 'min-confidence': { type: 'string' } });
    if (values.rules) {
      const r = lattice.rules({ minSupport: fraction('min-support', values['min-support'], 0), minConfidence: fraction('min-confidence', values['min-confidence'], 0) });
      if (values.json) printJson(r);
      else for (const x of r) out(`{${x.premise.join(', ')}} -> {${x.conclusion.join(', ')}}  support ${x.support.toFixed(3)} confidence ${x.confidence.toFixed(3)}`);
      return 0;
    }
    const b = await lattice.implicationsAsync();
    if (values.json) printJson(b);
    else for (const x of b) out(`<${x.support}> {${x.premise.join(', ')}} -> {${x.conclusion.join(', ')}}`);
    return 0;
  },
};

const draw: Command = {
  summary: 'draw the Hasse diagram as SVG (or DOT / JSON)',
  usage: 'omnitide lattice draw FILE [--as svg|dot|json] [-o OUT]',
  async run(argv) {
    const { values, lattice } = await load(argv, { as: { type: 'string' }, output: { type: 'string', short: 'o' } });
    const as = values.as ?? 'svg';
    const text = as === 'svg' ? lattice.toSvg() : as === 'dot' ? lattice.toDot() : as === 'json' ? JSON.stringify(lattice.toJSON()) : undefined;
    if (text === undefined) throw new UsageError(`--as must be svg, dot or json, got '${as}'`);
    if (typeof values.output === 'string') {
      writeFileSync(values.output, text);
      if (values.json) printJson({ written: values.output, bytes: Buffer.byteLength(text) });
    } else process.stdout.write(text.endsWith('\n') ? text : text + '\n');
    return 0;
  },
};

export const latticeCommands: CommandGroup = {
  summary: 'formal concept analysis: concept lattices, implications, queries, drawings',
  commands: { build, query, implications, draw },
};
