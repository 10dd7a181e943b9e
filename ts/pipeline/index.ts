/**
 * omnitide/pipeline: typed DAG pipelines in stream and batch mode. Sources are
 * validated with zod; map/filter/flatMap/branch run user functions, and
 * mapColumns/filterColumns also take column expressions (`col('x').mul(2)`)
 * evaluated natively and fused with a following window aggregate; aggregate,
 * event-time windows (tumbling, sliding, session with watermarks, allowed
 * lateness and an explicit late-data policy) and joins run natively over typed
 * columns, one call per batch. Dead letters carry the stage and the reason.
 */
export { Pipeline, Stream, KeyedStream, WindowedStream, aggs, type Aggs, type AggregateOutput, type Windowed } from './builder.js';
export type { SchedulerLike, AggKind, AggregateSpec, WindowSpec, WindowOptions, PipelineGraph, PipelineNode, Fields, FieldType } from './ir.js';
export type { DeadLetter } from './dead-letter.js';
export { ColumnBatch, type Column } from './columns.js';
export { col, lit, and, or, not, Expr, checkExpr, EXPR_OPERATORS, type ExprJson, type ExprType } from './expr.js';
export { fromColumns, fromArray, fromIterable, fromReadable, fromNdjson, fromCsv, splitCsv, type Source, type Chunk, type CsvOptions, type ReadableLike } from './sources.js';
export { toArray, toCallback, toWritable, toNdjson, toKeyedDirectory, toLedger, SinkRecordError, type Sink, type WritableLike } from './sinks.js';
export { run, type RunOptions, type RunResult } from './engine.js';
export { validateGraph, type Problem, type ValidationReport } from './validate.js';
export { loadDefinition, loadPipeline, OPERATORS, type DefinitionContext, type LoadResult } from './definition.js';
export { toDot, toSvg, layeredSvg } from './graph.js';
export * as synth from './synth/index.js';
export { OmniError } from '../errors.js';
export { toNats, fromNats, partitionOf, type NatsSinkOptions, type NatsSourceOptions } from './nats.js';
