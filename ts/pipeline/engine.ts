/**
 * Runs a pipeline graph in batch or stream mode from one definition.
 *
 * - Each source is pulled one chunk at a time and the chunk is pushed through
 *   the graph (every operator awaits its downstream) before the next pull:
 *   a slow sink slows the source, and at most one chunk per source is in flight.
 * - Stream mode: windows fire as the watermark passes; batch mode: every
 *   record is on time and results come at the end of input (Beam's model).
 *   On bounded, in-bound input both give the same results.
 * - Dead letters (unparsable lines, schema-invalid records, late or
 *   badly-timed events, unrouted branch records) go to `deadLetter` or are
 *   returned; never dropped silently.
 * - Checkpoints (stream mode, one replayable source): after every
 *   `everyBatches` chunks the source offset and operator states are written
 *   atomically; a new run with the same path resumes from there.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import type { AbortSignalLike } from '../abort.js';
import { OmniError, invalidArgument } from '../errors.js';
import { parseOptions } from '../validate.js';
import type { DeadLetter } from './dead-letter.js';
import type { FieldType, PipelineGraph, PipelineNode } from './ir.js';
import { FusedAggregateOp, makeOp, type Ctx, type Op } from './operators.js';
import type { ExprNode } from './expr-ops.js';
import type { Sink } from './sinks.js';
import { validateGraph } from './validate.js';
import { ColumnBatch } from './columns.js';
import { native } from '../native.js';
import { fieldsOf } from './schema.js';

/**
 * The source schema checked per column: every field present, numbers in
 * numeric columns; rows holding a non-finite number are dead letters.
 */
function checkColumns(stage: string, fields: [string, FieldType][] | null, b: ColumnBatch, ctx: Ctx): ColumnBatch {
  if (!fields) throw invalidArgument(`sources.${stage}`, 'a columnar source needs an object schema');
  let bad: Uint8Array | null = null;
  for (const [k, t] of fields) {
    const col = b.columns[k];
    if (col === undefined) throw invalidArgument(`sources.${stage}`, `column '${k}' of the schema is missing (columns: ${Object.keys(b.columns).join(', ')})`);
    if (t === 'number') {
      if (Array.isArray(col)) throw invalidArgument(`sources.${stage}`, `column '${k}' must be a typed array of numbers`);
      // Float64 columns are scanned natively (one call per column per batch); the JS loop runs from the first bad value on.
      const from = col instanceof Float64Array ? native.pipelineFirstNonFinite(col) : col instanceof Float32Array ? 0 : -1;
      if (from >= 0) {
        const c = col as Float64Array | Float32Array;
        for (let i = from; i < c.length; i++) if (!Number.isFinite(c[i])) (bad ??= new Uint8Array(b.length))[i] = 1;
      }
    }
  }
  if (!bad) return b;
  const keep = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) keep[i] = bad[i] ? 0 : 1;
  const rows = b.select(bad).toRows();
  for (const r of rows) ctx.dead({ stage, record: r, reason: 'schema: a number column holds a non-finite value' });
  return b.select(keep);
}

/**
 * Aggregates whose input is a run of column-expression nodes, each read by
 * nothing else: aggregate id -> the run, first node first. The run is fused
 * into the aggregate (see `FusedAggregateOp`).
 */
function fusedChains(graph: PipelineGraph): Map<string, ExprNode[]> {
  const readers = new Map<string, number>();
  for (const n of graph.nodes) for (const i of n.inputs) readers.set(i, (readers.get(i) ?? 0) + 1);
  const byId = new Map(graph.nodes.map((n) => [n.id, n]));
  const out = new Map<string, ExprNode[]>();
  for (const n of graph.nodes) {
    if (n.op !== 'aggregate' || n.key.length !== 1) continue;
    const chain: ExprNode[] = [];
    let up = byId.get(n.inputs[0]);
    while (up && (up.op === 'mapExpr' || up.op === 'filterExpr') && readers.get(up.id) === 1) {
      chain.unshift(up);
      up = byId.get(up.inputs[0]);
    }
    if (chain.length > 0) out.set(n.id, chain);
  }
  return out;
}

export interface RunOptions {
  /** 'stream' (default): results as windows close; 'batch': at end of input. */
  mode?: 'batch' | 'stream';
  /** Records per batch (default 4096, at most 65536). */
  batchSize?: number;
  /** Where dead letters go; without one they are returned in `RunResult.deadLetters`. */
  deadLetter?: Sink<DeadLetter>;
  checkpoint?: { path: string; everyBatches?: number };
  /**
   * Fuse chains of column-expression stages (`mapColumns`/`filterColumns` with
   * `col(...)` expressions) into the keyed window aggregate after them: one
   * native call per batch (default true). The results are the same either way.
   */
  fuse?: boolean;
  /** An AbortSignal (declared structurally so the declarations need no Node or DOM types). */
  signal?: AbortSignalLike;
}

export interface RunResult {
  mode: 'batch' | 'stream';
  /** Records in/out per node. */
  stats: Record<string, { in: number; out: number }>;
  deadLetterCount: number;
  /** The dead letters, when no `deadLetter` sink was given. */
  deadLetters: DeadLetter[];
  /** Source offset a checkpoint restored, if any. */
  resumedFrom?: number;
}

const optionsSchema = z.strictObject({
  mode: z.enum(['batch', 'stream']).optional(),
  batchSize: z.number().int().min(1).max(65536).optional(),
  deadLetter: z.custom<Sink<DeadLetter>>((v) => !!v && typeof (v as Sink).write === 'function', 'expected a Sink').optional(),
  checkpoint: z.strictObject({ path: z.string().min(1), everyBatches: z.number().int().min(1).optional() }).optional(),
  fuse: z.boolean().optional(),
  signal: z.instanceof(AbortSignal).optional(),
});

interface CheckpointFile {
  version: 1;
  pipeline: string;
  nodes: string[];
  offset: number;
  states: Record<string, unknown>;
}

export async function run(graph: PipelineGraph, options: RunOptions = {}): Promise<RunResult> {
  const opts = parseOptions('options', optionsSchema, options);
  const report = validateGraph(graph);
  if (!report.ok) {
    throw new OmniError('ERR_OMNI_PIPELINE_INVALID', `pipeline '${graph.name}' is invalid: ${report.problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, {
      fields: { problems: JSON.stringify(report.problems) },
    });
  }
  const mode = opts.mode ?? 'stream';
  const batchSize = opts.batchSize ?? 4096;
  const stats: RunResult['stats'] = {};
  for (const n of graph.nodes) stats[n.id] = { in: 0, out: 0 };
  const deadLetters: DeadLetter[] = [];
  let pendingDead: DeadLetter[] = [];
  let deadCount = 0;
  const downstream = new Map<string, Array<{ op: Op; port: number }>>();
  const ops = new Map<string, Op>();

  const ctx: Ctx = {
    mode,
    batchSize,
    dead(d) {
      deadCount++;
      pendingDead.push(d);
    },
    async emit(output, batch) {
      for (const { op, port } of downstream.get(output) ?? []) {
        stats[op.entry ?? op.node.id].in += batch.length;
        await op.push(port, batch);
      }
    },
    count(id, k, n) {
      stats[id][k] += n;
    },
  };
  const chains = opts.fuse === false ? new Map<string, ExprNode[]>() : fusedChains(graph);
  const fusedAway = new Set([...chains.values()].flat().map((c) => c.id));
  for (const id of report.order) {
    const n = graph.nodes.find((x) => x.id === id)!;
    if (n.op === 'source' || fusedAway.has(id)) continue;
    const chain = chains.get(id);
    const op = chain ? new FusedAggregateOp(n, chain, ctx) : makeOp(n, ctx);
    ops.set(id, op);
    (chain ? chain[0].inputs : n.inputs).forEach((input, port) => downstream.set(input, [...(downstream.get(input) ?? []), { op, port }]));
  }

  async function flushDead() {
    if (pendingDead.length === 0) return;
    const batch = pendingDead;
    pendingDead = [];
    if (opts.deadLetter) {
      try {
        await opts.deadLetter.write(batch);
      } catch (err) {
        throw new OmniError('ERR_OMNI_PIPELINE_SINK', `the dead-letter sink failed: ${(err as Error).message}`, { cause: err, fields: { stage: 'deadLetter' } });
      }
    } else for (const d of batch) deadLetters.push(d);
  }

  async function endOutput(output: string) {
    for (const { op, port } of downstream.get(output) ?? []) {
      if (await op.end(port)) {
        const n = op.node;
        const outs = n.op === 'branch' ? n.branches.map((b) => `${n.id}#${b}`) : [n.id];
        for (const o of outs) await endOutput(o);
      }
    }
  }

  const sources = graph.nodes.filter((n): n is Extract<PipelineNode, { op: 'source' }> => n.op === 'source');
  // Checkpoints: restore before reading.
  let resumedFrom: number | undefined;
  let offset = 0;
  const ck = opts.checkpoint;
  if (ck) {
    if (mode !== 'stream') throw invalidArgument('options.checkpoint', 'checkpoints are for stream mode');
    if (sources.length !== 1 || !sources[0].source?.replayable) throw invalidArgument('options.checkpoint', 'checkpoints need exactly one replayable source (array, generator function, NDJSON or CSV file)');
    for (const op of ops.values()) op.state?.(); // throws for operators that cannot be checkpointed
    if (existsSync(ck.path)) {
      let file: CheckpointFile;
      try {
        file = JSON.parse(readFileSync(ck.path, 'utf8')) as CheckpointFile;
      } catch (err) {
        throw invalidArgument('options.checkpoint.path', `${ck.path} is not a readable checkpoint`, err);
      }
      if (file.version !== 1 || file.pipeline !== graph.name || JSON.stringify(file.nodes) !== JSON.stringify(graph.nodes.map((n) => n.id))) {
        throw invalidArgument('options.checkpoint.path', `${ck.path} was written by a different pipeline`);
      }
      for (const [id, s] of Object.entries(file.states)) ops.get(id)?.restore?.(s);
      offset = file.offset;
      resumedFrom = offset;
    }
  }

  function writeCheckpoint() {
    const states: Record<string, unknown> = {};
    for (const [id, op] of ops) {
      const s = op.state?.();
      if (s !== undefined) states[id] = s;
    }
    const file: CheckpointFile = { version: 1, pipeline: graph.name, nodes: graph.nodes.map((n) => n.id), offset, states };
    const tmp = `${ck!.path}.tmp`;
    writeFileSync(tmp, JSON.stringify(file));
    renameSync(tmp, ck!.path);
  }

  async function drive(node: Extract<PipelineNode, { op: 'source' }>) {
    const schema = node.schema;
    let columnFields: [string, FieldType][] | null | undefined;
    let chunks = 0;
    for await (const chunk of node.source!.open(ck ? offset : 0, batchSize)) {
      if (opts.signal?.aborted) throw new OmniError('ERR_OMNI_ABORTED', `pipeline '${graph.name}' was aborted`, { cause: opts.signal.reason });
      for (const m of chunk.malformed ?? []) ctx.dead({ ...m, stage: node.id });
      const recs = chunk.records;
      if (recs instanceof ColumnBatch) {
        // The schema's fields are resolved once per source, not per chunk.
        if (schema && columnFields === undefined) {
          const f = fieldsOf(schema);
          columnFields = f && Object.entries(f);
        }
        const batch = schema ? checkColumns(node.id, columnFields!, recs, ctx) : recs;
        stats[node.id].in += recs.length;
        stats[node.id].out += batch.length;
        if (batch.length > 0) await ctx.emit(node.id, batch as never);
        await flushDead();
        offset += recs.length;
        if (ck && ++chunks % (ck.everyBatches ?? 1) === 0) writeCheckpoint();
        continue;
      }
      const valid: unknown[] = [];
      for (let i = 0; i < recs.length; i++) {
        if (!schema) {
          valid.push(recs[i]);
          continue;
        }
        const v = schema.safeParse(recs[i]);
        if (v.success) valid.push(v.data);
        else {
          ctx.dead({
            stage: node.id,
            record: recs[i],
            line: chunk.lines?.[i],
            reason: `schema: ${v.error.issues.map((x) => `${x.path.join('.') || '(record)'}: ${x.message}`).join('; ')}`,
          });
        }
      }
      stats[node.id].in += recs.length + (chunk.malformed?.length ?? 0);
      stats[node.id].out += valid.length;
      if (valid.length > 0) await ctx.emit(node.id, valid);
      await flushDead();
      offset += recs.length + (chunk.malformed?.length ?? 0);
      if (ck && ++chunks % (ck.everyBatches ?? 1) === 0) writeCheckpoint();
    }
    await endOutput(node.id);
    await flushDead();
  }

  await Promise.all(sources.map(drive));
  if (ck) writeCheckpoint();
  return { mode, stats, deadLetterCount: deadCount, deadLetters, ...(resumedFrom !== undefined ? { resumedFrom } : {}) };
}
