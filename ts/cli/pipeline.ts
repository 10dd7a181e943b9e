import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadDefinition, run, toDot, toNdjson, toSvg, type DefinitionContext } from '../pipeline/index.js';
import { type Command, type CommandGroup, out, parse, printJson, UsageError } from './command.js';
import { synthCommand } from '../pipeline/synth/cli.js';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Fn = (r: any) => any;

function one(positionals: string[]): string {
  if (positionals.length !== 1) throw new UsageError(`expected exactly one pipeline definition file (.json/.yaml), got ${positionals.length}`);
  return positionals[0];
}

/** The registry module's exports (default export object, or named functions). */
async function functions(path: string | undefined, lenient: boolean): Promise<Record<string, Fn>> {
  if (path === undefined) {
    // Without a registry, validate/graph still check the structure: any name resolves.
    if (!lenient) throw new UsageError('--functions MODULE is required to run a pipeline that uses functions');
    // ('then' stays undefined: the registry is returned from an async function.)
    return new Proxy({}, { get: (_t, k) => (typeof k === 'string' && k !== 'then' ? () => undefined : undefined), ownKeys: () => [] }) as Record<string, Fn>;
  }
  const mod = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  const src = (mod.default && typeof mod.default === 'object' ? mod.default : mod) as Record<string, unknown>;
  return Object.fromEntries(Object.entries(src).filter(([, v]) => typeof v === 'function')) as Record<string, Fn>;
}

async function load(argv: string[], extra: Parameters<typeof parse>[1], lenient: boolean) {
  const { values, positionals } = parse(argv, { functions: { type: 'string' }, ...extra });
  const file = one(positionals);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read ${file}: ${(err as Error).message}`);
  }
  const ctx: DefinitionContext = { functions: await functions(values.functions, lenient || !/\bfn\b/.test(text)), baseDir: dirname(resolve(file)) };
  return { values, result: loadDefinition(text, ctx) };
}

const validate: Command = {
  summary: 'check a JSON/YAML pipeline definition (operators, functions, cycles, fields)',
  usage: 'omnitide pipeline validate FILE [--functions MODULE] [--json]',
  async run(argv) {
    const { values, result } = await load(argv, {}, true);
    if (values.json) printJson({ ok: result.ok, problems: result.problems, nodes: result.graph.nodes.map((n) => n.id) });
    else if (result.ok) out(`ok: ${result.graph.name} (${result.graph.nodes.length} nodes)`);
    else for (const p of result.problems) out(`${p.path}: ${p.message}`);
    return result.ok ? 0 : 1;
  },
};

const graph: Command = {
  summary: 'draw a pipeline as Graphviz DOT or SVG (SVG uses `dot` when installed)',
  usage: 'omnitide pipeline graph FILE [--format dot|svg] [--out FILE] [--functions MODULE]',
  async run(argv) {
    const { values, result } = await load(argv, { format: { type: 'string' }, out: { type: 'string' } }, true);
    const format = values.format ?? 'dot';
    if (format !== 'dot' && format !== 'svg') throw new UsageError(`--format must be dot or svg, got '${format}'`);
    if (!result.ok) throw new UsageError(`the definition is invalid: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    const text = format === 'dot' ? toDot(result.graph) : await toSvg(result.graph);
    if (values.out) writeFileSync(values.out, text);
    else process.stdout.write(text);
    return 0;
  },
};

const runCmd: Command = {
  summary: 'run a pipeline definition (sources and sinks from its from/to)',
  usage: 'omnitide pipeline run FILE [--functions MODULE] [--mode batch|stream] [--batch-size N] [--dead-letter FILE] [--json]',
  async run(argv) {
    const { values, result } = await load(argv, { mode: { type: 'string' }, 'batch-size': { type: 'string' }, 'dead-letter': { type: 'string' } }, false);
    if (!result.ok) throw new UsageError(`the definition is invalid: ${result.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    const mode = values.mode ?? 'stream';
    if (mode !== 'batch' && mode !== 'stream') throw new UsageError(`--mode must be batch or stream, got '${mode}'`);
    const bs = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
    if (bs !== undefined && !(Number.isInteger(bs) && bs >= 1 && bs <= 65536)) throw new UsageError(`--batch-size must be an integer in [1, 65536], got '${values['batch-size']}'`);
    const r = await run(result.graph, { mode, batchSize: bs, ...(values['dead-letter'] ? { deadLetter: toNdjson(values['dead-letter']) } : {}) });
    if (!values['dead-letter']) for (const d of r.deadLetters) process.stderr.write(`dead letter at ${d.stage}${d.line ? ` line ${d.line}` : ''}: ${d.reason}\n`);
    if (values.json) printJson({ mode: r.mode, stats: r.stats, deadLetters: r.deadLetterCount });
    else {
      for (const [id, s] of Object.entries(r.stats)) out(`${id.padEnd(16)} in ${s.in}  out ${s.out}`);
      out(`dead letters: ${r.deadLetterCount}`);
    }
    return 0;
  },
};

export const pipelineCommands: CommandGroup = {
  summary: 'typed DAG pipelines and synthetic data: run, validate, graph, synth',
  commands: {
    run: runCmd,
    validate,
    graph,
    synth: synthCommand,
  },
};
