/**
 * Toxiproxy's toxics: their names, attributes (same names and units as
 * Toxiproxy's HTTP API) and what each does to the chunks of one direction of
 * one connection. The behaviours are written from Toxiproxy's documented
 * semantics; the pipeline that runs them is in link.ts.
 */
import { z } from 'zod';
import { invalidArgument } from '../../errors.js';
import { parseOptions } from '../../validate.js';

export const TOXIC_TYPES = ['latency', 'bandwidth', 'slow_close', 'timeout', 'reset_peer', 'slicer', 'limit_data'] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];
export type ToxicStream = 'upstream' | 'downstream';

/** What a toxic looks like to users (and on Toxiproxy's HTTP API). */
export interface ToxicInfo {
  name: string;
  type: ToxicType;
  /** 'upstream' = client -> server bytes, 'downstream' = server -> client bytes. */
  stream: ToxicStream;
  /** Probability in [0,1] that a connection gets this toxic (rolled per connection). */
  toxicity: number;
  attributes: Record<string, number>;
}

export interface AddToxicOptions {
  name?: string;
  type: ToxicType;
  stream?: ToxicStream;
  toxicity?: number;
  attributes?: Record<string, number>;
}

// setTimeout fires at once for delays above 2^31-1 ms: no time attribute may exceed it.
const MAX_MS = 2_147_483_647;
const ms = z.number().int('must be an integer number of milliseconds').min(0, 'must be >= 0').max(MAX_MS, `must be <= ${MAX_MS} ms`);
const count = z.number().int('must be an integer').min(0, 'must be >= 0').max(Number.MAX_SAFE_INTEGER);

// Attribute schemas, strict: a misspelt attribute is an error rather than a silent 0 (Toxiproxy ignores it).
const ATTRIBUTES = {
  latency: z.strictObject({ latency: ms.default(0), jitter: ms.default(0) }),
  bandwidth: z.strictObject({ rate: count.describe('KB/s').default(0) }),
  slow_close: z.strictObject({ delay: ms.default(0) }),
  timeout: z.strictObject({ timeout: ms.default(0) }),
  reset_peer: z.strictObject({ timeout: ms.default(0) }),
  slicer: z
    .strictObject({
      average_size: z.number().int('must be an integer').min(1, 'must be >= 1 byte').max(Number.MAX_SAFE_INTEGER),
      size_variation: count.default(0),
      delay: count.max(MAX_MS * 1000).describe('microseconds').default(0),
    })
    .refine((a) => a.size_variation < a.average_size, { message: 'size_variation must be smaller than average_size', path: ['size_variation'] }),
  limit_data: z.strictObject({ bytes: count.default(0) }),
} satisfies Record<ToxicType, z.ZodType>;

/** Proxy and toxic names: they are path segments of the HTTP API. */
export const NAME = z
  .string()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters')
  .regex(/^[^/?#\s]+$/, "must not contain '/', '?', '#' or whitespace (it is part of the API's URLs)");

const ADD = z.strictObject({
  name: NAME.optional(),
  type: z.enum(TOXIC_TYPES, { message: `must be one of ${TOXIC_TYPES.join(', ')}` }),
  stream: z.enum(['upstream', 'downstream'], { message: "must be 'upstream' or 'downstream'" }).default('downstream'),
  toxicity: z.number().min(0, 'must be within [0,1]').max(1, 'must be within [0,1]').default(1),
  attributes: z.record(z.string(), z.unknown()).default({}),
});

/** Validates a new toxic; the result is complete (defaults filled like Toxiproxy's JSON). */
export function parseToxic(arg: string, value: unknown): ToxicInfo {
  const t = parseOptions(arg, ADD, value);
  const attributes = parseOptions(`${arg}.attributes`, ATTRIBUTES[t.type], t.attributes) as Record<string, number>;
  return { name: t.name ?? `${t.type}_${t.stream}`, type: t.type, stream: t.stream, toxicity: t.toxicity, attributes };
}

const UPDATE = z.strictObject({
  toxicity: z.number().min(0, 'must be within [0,1]').max(1, 'must be within [0,1]').optional(),
  attributes: z.record(z.string(), z.unknown()).optional(),
});

/** Validates an update of an existing toxic: given attributes replace the old ones, the rest stay (as Toxiproxy). */
export function parseToxicUpdate(arg: string, current: ToxicInfo, value: unknown): { toxicity: number; attributes: Record<string, number> } {
  const u = parseOptions(arg, UPDATE, value);
  const merged = { ...current.attributes, ...(u.attributes ?? {}) };
  const attributes = parseOptions(`${arg}.attributes`, ATTRIBUTES[current.type], merged) as Record<string, number>;
  return { toxicity: u.toxicity ?? current.toxicity, attributes };
}

export function toxicName(arg: string, value: unknown): string {
  const r = NAME.safeParse(value);
  if (!r.success) throw invalidArgument(arg, r.error.issues[0].message);
  return r.data;
}

// ------------------------------------------------------------ behaviours

export interface Chunk {
  data: Uint8Array;
  /** performance.now() when the proxy read it (latency is measured from here, as in Toxiproxy). */
  ts: number;
}

/** How a direction ends: the source's EOF (half-close), a toxic closing the connection, or a reset. */
export type EndKind = 'eof' | 'close' | 'reset';

/** What a toxic's behaviour may do with the chunk it holds. */
export interface ToxicContext {
  readonly attributes: Record<string, number>;
  /** Per connection and toxic (limit_data's byte count, bandwidth's carried sleep). */
  readonly state: Record<string, number>;
  /** The part of the current chunk not yet passed on; flushed downstream if the toxic is removed. */
  pending: Uint8Array | null;
  emit(data: Uint8Array, ts: number): void;
  /** Ends this direction (and so the connection) after what was emitted. */
  end(kind: EndKind): void;
  /** Data the toxic discards (for the link's buffer accounting). */
  drop(bytes: number): void;
  /** Waits, or rejects when the toxic is removed or the connection closes. */
  sleep(ms: number): Promise<void>;
  /** (Re)arms this toxic's one timer (cleared when the toxic is removed or the connection closes). */
  timer(ms: number, fire: () => void): void;
}

export interface Behaviour {
  /** Called once when the toxic starts on a connection. */
  start?(ctx: ToxicContext): void;
  chunk(c: Chunk, ctx: ToxicContext): Promise<void> | void;
  /** The source ended (`eof`) or an earlier toxic ended the stream; default: pass the end on. */
  end?(kind: EndKind, ctx: ToxicContext): Promise<void> | void;
  /** Toxiproxy's timeout toxic closes the connections it held when it is removed. */
  closesOnRemove?: boolean;
}

function latencyMs(a: Record<string, number>): number {
  // latency ± jitter, uniform over [latency - jitter, latency + jitter) like Toxiproxy.
  return a.jitter > 0 ? a.latency + Math.floor(Math.random() * 2 * a.jitter) - a.jitter : a.latency;
}

/**
 * Offsets that split [start, end) into pieces of about `avg` ± `variation`
 * bytes: halve until a piece is within the variation of the average, moving
 * each split point by a random amount (so no end gets the small pieces).
 */
export function slicePoints(start: number, end: number, avg: number, variation: number, out: number[] = []): number[] {
  if (end - start - avg <= variation) {
    out.push(end);
    return out;
  }
  let mid = start + Math.floor((end - start) / 2);
  if (variation > 0) mid += Math.floor(Math.random() * 2 * variation) - variation;
  slicePoints(start, mid, avg, variation, out);
  return slicePoints(mid, end, avg, variation, out);
}

// timeout: 0 holds the connection (dropping data) until the toxic is removed.
function armTimeout(ctx: ToxicContext): void {
  if (ctx.attributes.timeout > 0) ctx.timer(ctx.attributes.timeout, () => ctx.end('close'));
}

const behaviours: Record<ToxicType, Behaviour> = {
  latency: {
    async chunk(c, ctx) {
      const wait = latencyMs(ctx.attributes) - (performance.now() - c.ts);
      await ctx.sleep(wait);
      ctx.pending = null;
      ctx.emit(c.data, c.ts + Math.max(wait, 0));
    },
  },

  bandwidth: {
    async chunk(c, ctx) {
      const rate = ctx.attributes.rate; // KB/s = bytes per ms
      if (rate <= 0) {
        ctx.state.sleep = 0;
        ctx.pending = null;
        ctx.emit(c.data, c.ts);
        return;
      }
      let data = c.data;
      ctx.state.sleep = (ctx.state.sleep ?? 0) + data.length / rate;
      // A chunk larger than 100 ms worth goes out in 100 ms slices.
      const slice = rate * 100;
      while (data.length > slice) {
        await ctx.sleep(100);
        ctx.emit(data.subarray(0, slice), c.ts);
        data = data.subarray(slice);
        ctx.pending = data;
        ctx.state.sleep -= 100;
      }
      const start = performance.now();
      await ctx.sleep(ctx.state.sleep);
      // Timers are coarse: carry the error into the next chunk's wait.
      ctx.state.sleep -= performance.now() - start;
      ctx.pending = null;
      ctx.emit(data, c.ts);
    },
  },

  slow_close: {
    chunk(c, ctx) {
      ctx.pending = null;
      ctx.emit(c.data, c.ts);
    },
    async end(kind, ctx) {
      await ctx.sleep(ctx.attributes.delay);
      ctx.end(kind);
    },
  },

  timeout: {
    closesOnRemove: true,
    start: armTimeout,
    chunk(c, ctx) {
      // Data is dropped, and (as Toxiproxy's loop does) each chunk restarts the timer.
      ctx.pending = null;
      ctx.drop(c.data.length);
      armTimeout(ctx);
    },
  },

  reset_peer: {
    async chunk(c, ctx) {
      // The first data (dropped) arms the reset, after `timeout` ms.
      ctx.pending = null;
      ctx.drop(c.data.length);
      await ctx.sleep(ctx.attributes.timeout);
      ctx.end('reset');
    },
    async end(_kind, ctx) {
      await ctx.sleep(ctx.attributes.timeout);
      ctx.end('reset');
    },
  },

  slicer: {
    async chunk(c, ctx) {
      const { average_size: avg, size_variation: variation, delay } = ctx.attributes;
      const points = slicePoints(0, c.data.length, avg, variation);
      let at = 0;
      for (const p of points) {
        ctx.emit(c.data.subarray(at, p), c.ts);
        at = p;
        ctx.pending = at < c.data.length ? c.data.subarray(at) : null;
        if (delay > 0) await ctx.sleep(delay / 1000);
      }
      ctx.pending = null;
    },
  },

  limit_data: {
    chunk(c, ctx) {
      const sent = ctx.state.sent ?? 0;
      const remaining = Math.max(ctx.attributes.bytes - sent, 0);
      const out = remaining < c.data.length ? c.data.subarray(0, remaining) : c.data;
      ctx.pending = null;
      if (out.length > 0) ctx.emit(out, c.ts);
      ctx.drop(c.data.length - out.length);
      ctx.state.sent = sent + out.length;
      if (ctx.state.sent >= ctx.attributes.bytes) ctx.end('close');
    },
  },
};

export function behaviourOf(type: ToxicType): Behaviour {
  return behaviours[type];
}
