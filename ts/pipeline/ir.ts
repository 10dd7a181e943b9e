/**
 * The pipeline graph both front ends produce: the typed builder and JSON/YAML
 * definitions. Nodes name their inputs; user functions are values here (the
 * definition loader resolves names through a registry).
 */
import type { z } from 'zod';
import type { Sink } from './sinks.js';
import type { Source } from './sources.js';
import type { ExprJson } from './expr.js';

export type AggKind = 'count' | 'sum' | 'min' | 'max' | 'mean' | 'variance' | 'distinct' | 'quantile';
export const AGG_KINDS: readonly AggKind[] = ['count', 'sum', 'min', 'max', 'mean', 'variance', 'distinct', 'quantile'];

/** One output column of an aggregate: `kind` over `field` (none for count). */
export interface AggregateSpec {
  kind: AggKind;
  field?: string;
  /** Quantile in [0, 1] (kind 'quantile'). */
  q?: number;
}

export type WindowSpec =
  | { type: 'global' }
  | { type: 'tumbling'; size: number }
  | { type: 'sliding'; size: number; slide: number }
  | { type: 'session'; gap: number };

export interface WindowOptions {
  /** Field holding the event time (ms since the epoch, or a Date / ISO string). */
  time: string;
  /** Watermark = max event time seen - this (ms). Default 0. */
  maxOutOfOrderness?: number;
  /** How long after a window's end late records still count (ms). Default 0. */
  allowedLateness?: number;
  /** 'deadLetter' (one final result per window; later records dead-lettered) or 'update' (re-emit). */
  latePolicy?: 'deadLetter' | 'update';
}

/** What `parallelMap` needs of an `omnitide/scheduler` Scheduler. */
export interface SchedulerLike {
  run(name: string, input: unknown): Promise<unknown>;
}

export type FieldType = 'number' | 'string' | 'boolean' | 'date' | 'unknown';
/** Known fields of the records on an edge; `null` = not known (after a map without a declared schema). */
export type Fields = Record<string, FieldType> | null;

/* eslint-disable @typescript-eslint/no-explicit-any */
export type Fn = (record: any) => any;

export type NodeOp =
  | { op: 'source'; source?: Source<unknown>; schema?: z.ZodType }
  | { op: 'map'; fn: Fn; fnName?: string; outFields?: Fields; columnar?: boolean }
  | { op: 'filter'; fn: Fn; fnName?: string; columnar?: boolean }
  /** `mapColumns` with column expressions: each entry assigns a number column (all read the columns before the stage). */
  | { op: 'mapExpr'; exprs: Record<string, ExprJson> }
  /** `filterColumns` with a boolean column expression. */
  | { op: 'filterExpr'; predicate: ExprJson }
  | { op: 'flatMap'; fn: Fn; fnName?: string; outFields?: Fields }
  | { op: 'aggregate'; key: string[]; window: WindowSpec; options: WindowOptions | null; aggregates: Record<string, AggregateSpec> }
  | { op: 'join'; kind: 'inner' | 'left' | 'anti'; on: [string, string] }
  | { op: 'intervalJoin'; on: [string, string]; time: [string, string]; between: [number, number]; maxOutOfOrderness: number }
  | { op: 'lookup'; on: string; table: ReadonlyMap<unknown, unknown>; as: string; tableName?: string }
  | { op: 'dedupe'; key: string[] }
  | { op: 'sort'; by: Array<{ field: string; desc: boolean }> }
  | { op: 'union' }
  | { op: 'parallelMap'; scheduler: SchedulerLike; task: string; key: string; partitions: number; outFields?: Fields }
  | { op: 'branch'; fn: Fn; fnName?: string; branches: string[] }
  | { op: 'sink'; sink: Sink<unknown>; schema?: z.ZodType };

export type PipelineNode = NodeOp & {
  id: string;
  /** Input node ids; a branch output is `branchNode#name`. */
  inputs: string[];
};

export interface PipelineGraph {
  name: string;
  nodes: PipelineNode[];
}

export function opsSummary(n: PipelineNode): string {
  switch (n.op) {
    case 'map':
    case 'filter':
    case 'flatMap':
      return `${n.op}${'columnar' in n && n.columnar ? 'Columns' : ''}${n.fnName ? `(${n.fnName})` : ''}`;
    case 'mapExpr':
      return `mapColumns(${Object.entries(n.exprs).map(([k, e]) => `${k} = ${showExpr(e)}`).join(', ')})`;
    case 'filterExpr':
      return `filterColumns(${showExpr(n.predicate)})`;
    case 'aggregate':
      return `aggregate by [${n.key.join(', ')}] ${n.window.type}${'size' in n.window ? ` ${n.window.size}ms` : ''}: ${Object.keys(n.aggregates).join(', ')}`;
    case 'join':
      return `${n.kind} join on ${n.on[0]} = ${n.on[1]}`;
    case 'intervalJoin':
      return `interval join on ${n.on[0]} = ${n.on[1]} within [${n.between[0]}, ${n.between[1]}] ms`;
    case 'lookup':
      return `lookup ${n.on} -> ${n.as}`;
    case 'dedupe':
      return `dedupe [${n.key.join(', ')}]`;
    case 'sort':
      return `sort ${n.by.map((b) => b.field + (b.desc ? ' desc' : '')).join(', ')}`;
    case 'branch':
      return `branch: ${n.branches.join(' | ')}`;
    case 'parallelMap':
      return `parallelMap(${n.task}) by ${n.key} x${n.partitions}`;
    case 'source':
      return n.source?.describe ?? 'source';
    case 'sink':
      return n.sink.describe;
    default:
      return n.op;
  }
}

const INFIX: Record<string, string> = { add: '+', sub: '-', mul: '*', div: '/', gt: '>', ge: '>=', lt: '<', le: '<=', eq: '==', ne: '!=', and: '&&', or: '||' };

/** An expression as a short infix string, for graphs and summaries. */
export function showExpr(e: ExprJson): string {
  if (typeof e !== 'object' || e === null) return String(e);
  const [op, raw] = Object.entries(e)[0] ?? ['?', []];
  const args = (Array.isArray(raw) ? raw : [raw]) as ExprJson[];
  if (op === 'col' || op === 'lit') return String(raw);
  if (INFIX[op] && args.length === 2) return `(${showExpr(args[0])} ${INFIX[op]} ${showExpr(args[1])})`;
  return `${op}(${args.map(showExpr).join(', ')})`;
}
