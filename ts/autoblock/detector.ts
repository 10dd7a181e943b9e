/**
 * The detection engine (crate `omnitide-autoblock`): jails over log lines with
 * fail2ban filters, CrowdSec-shaped scenarios over structured events,
 * allowlists first. This file only validates and packs batches.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { callNative, callNativeAsync, invalidArgument } from '../errors.js';
import { native } from '../native.js';
import { describe, parseOptions } from '../validate.js';

export type Duration = number | string;

export interface JailOptions {
  name: string;
  /** a fail2ban filter file path (read unchanged, with its includes) or `{ text }` */
  filter: string | { text: string; options?: Record<string, string>; allowPartial?: boolean; datepattern?: string };
  /** filter options as in `filter = sshd[mode=aggressive]` */
  filterOptions?: Record<string, string>;
  /** keep going without filter patterns that cannot be mapped to the linear-time engine */
  allowPartial?: boolean;
  maxretry?: number;
  /** seconds or fail2ban syntax ('10m', '1h30m') */
  findtime?: Duration;
  /** seconds or fail2ban syntax; negative = permanent */
  bantime?: Duration;
  /** bantime.increment: bantime * 2^n * factor (or multipliers), capped by maxtime */
  increment?: { factor?: number; multipliers?: number[]; maxtime?: Duration };
  action?: 'ban' | 'throttle';
}

export interface ScenarioSource {
  file: string;
  text: string;
}

export interface DetectorConfig {
  jails?: JailOptions[];
  /** YAML scenario files (paths) or their text */
  scenarios?: (string | ScenarioSource)[];
  /** addresses, CIDR prefixes and `user:name` entries that are never blocked */
  allowlist?: string[];
}

/** What a jail or scenario decided should be blocked. */
export interface Detection {
  origin: 'jail' | 'scenario';
  name: string;
  action: 'ban' | 'throttle';
  scope: 'ip' | 'range' | 'user';
  value: string;
  /** Unix seconds of the triggering event */
  time: number;
  /** seconds, negative = permanent */
  duration: number;
  reason: string;
  /** hex BLAKE3 of the triggering events */
  evidence: string[];
  count: number;
  labels: [string, string][];
}

/** One line as a filter sees it. */
export interface LineMatch {
  line: number;
  kind: 'failure' | 'nofail' | 'ignored' | 'missed';
  id: string | null;
  /** Unix seconds */
  time: number | null;
  regex: number | null;
  fields: [string, string][];
}

export interface DetectorStats {
  lines: number;
  failures: number;
  ignored: number;
  missed: number;
  nofail: number;
  truncated: number;
  events: number;
  malformedEvents: number;
  allowlisted: number;
  detections: number;
}

/** A structured event: a time (Unix ms, default now) and string fields. */
export interface SecurityEvent {
  time?: number;
  [field: string]: string | number | undefined;
}

const duration = z.union([z.number().finite(), z.string().min(1)]);
const jailSchema = z.strictObject({
  name: z.string().min(1).max(128),
  filter: z.union([
    z.string().min(1),
    z.strictObject({ text: z.string(), options: z.record(z.string(), z.string()).optional(), allowPartial: z.boolean().optional(), datepattern: z.string().optional() }),
  ]),
  filterOptions: z.record(z.string(), z.string()).optional(),
  allowPartial: z.boolean().optional(),
  maxretry: z.number().int().min(1).max(1e9).optional(),
  findtime: duration.optional(),
  bantime: duration.optional(),
  increment: z.strictObject({ factor: z.number().positive().optional(), multipliers: z.array(z.number().positive()).optional(), maxtime: duration.optional() }).optional(),
  action: z.enum(['ban', 'throttle']).optional(),
});
export const detectorSchema = z.strictObject({
  jails: z.array(jailSchema).optional(),
  scenarios: z.array(z.union([z.string().min(1), z.strictObject({ file: z.string(), text: z.string() })])).optional(),
  allowlist: z.array(z.string()).optional(),
});

/** The crate's JSON configuration from the public options. */
export function nativeConfig(cfg: DetectorConfig): string {
  const c = parseOptions('config', detectorSchema, cfg);
  const jails = (c.jails ?? []).map((j) => {
    const f = typeof j.filter === 'string' ? { path: j.filter } : { text: j.filter.text, datepattern: j.filter.datepattern };
    const options = { ...(typeof j.filter === 'string' ? {} : j.filter.options), ...j.filterOptions };
    const allowPartial = j.allowPartial ?? (typeof j.filter === 'string' ? undefined : j.filter.allowPartial);
    return {
      name: j.name,
      filter: { ...f, options, ...(allowPartial === undefined ? {} : { allowPartial }) },
      maxretry: j.maxretry,
      findtime: j.findtime,
      bantime: j.bantime,
      increment: j.increment,
      action: j.action,
    };
  });
  const scenarios = (c.scenarios ?? []).map((s, i) => {
    if (typeof s !== 'string') return s;
    try {
      return { file: s, text: readFileSync(s, 'utf8') };
    } catch (err) {
      throw invalidArgument(`config.scenarios[${i}]`, `cannot read ${s}: ${(err as Error).message}`, err);
    }
  });
  return JSON.stringify({ jails, scenarios, allowlist: c.allowlist ?? [] });
}

const encoder = new TextEncoder();
// eslint-disable-next-line no-control-regex
const SEPARATORS = /[\n\x1e\x1f]/;

/** Packs events for one native call (see the crate's engine docs for the layout). */
export function packEvents(arg: string, events: readonly SecurityEvent[]): Uint8Array {
  if (!Array.isArray(events)) throw invalidArgument(arg, `expected an array of events, got ${describe(events)}`);
  const parts: string[] = [];
  const now = Date.now();
  for (let i = 0; i < events.length; i++) {
    const e = events[i];
    if (e === null || typeof e !== 'object') throw invalidArgument(`${arg}[${i}]`, `expected an event object, got ${describe(e)}`);
    const t = e.time ?? now;
    if (typeof t !== 'number' || !Number.isFinite(t)) throw invalidArgument(`${arg}[${i}].time`, 'expected Unix milliseconds');
    let s = String(t / 1000);
    for (const k in e) {
      if (k === 'time') continue;
      const v = e[k];
      if (v === undefined) continue;
      const sv = typeof v === 'number' ? String(v) : v;
      if (typeof sv !== 'string') throw invalidArgument(`${arg}[${i}].${k}`, `expected a string or number, got ${describe(v)}`);
      if (SEPARATORS.test(k) || SEPARATORS.test(sv)) throw invalidArgument(`${arg}[${i}].${k}`, 'contains a newline or an ASCII record/unit separator');
      s += `\x1f${k}\x1e${sv}`;
    }
    parts.push(s);
  }
  return encoder.encode(parts.join('\n'));
}

function bytesOf(arg: string, v: unknown): Uint8Array {
  if (typeof v === 'string') return encoder.encode(v);
  if (v instanceof Uint8Array) return v;
  throw invalidArgument(arg, `expected a string or Uint8Array, got ${describe(v)}`);
}

/**
 * Detections as columns (the crate's `columns` module): per detection its
 * value, decision reason (`<origin> <name>: <reason>`), decision origin
 * (`<origin>:<name>`) and evidence in `text`, their UTF-16 lengths in `lens`
 * (value, reason, origin, evidence count, each evidence), and time (Unix s),
 * duration (s), action code and scope code in `nums`.
 */
export interface DetectionColumns {
  text: string;
  lens: Uint32Array;
  nums: Float64Array;
}
/** Numbers per detection in `DetectionColumns.nums`. */
export const DETECTION_NUMS = 4;

/**
 * The key of `Detector`'s columnar `packed`, for the Autoblocker only (the
 * package does not export it): a symbol keeps it out of the public API.
 */
export const packedColumns = Symbol('packedColumns');

/** A detection engine. Synchronous batches; `linesAsync` runs large ones off the event loop. */
export class Detector {
  readonly #h: InstanceType<typeof native.AutoblockEngine>;
  #allowRevision = 0;

  constructor(cfg: DetectorConfig = {}) {
    const json = nativeConfig(cfg);
    this.#h = callNative(() => new native.AutoblockEngine(json));
  }

  /** Log lines (`\n`-separated) through the jails (or only `jail`); `now` in Unix ms gives syslog dates their year. */
  lines(text: string | Uint8Array, opts: { jail?: string; now?: number } = {}): Detection[] {
    const b = bytesOf('text', text);
    const now = (opts.now ?? Date.now()) / 1000;
    return JSON.parse(callNative(() => this.#h.processLines(b, opts.jail, now)));
  }

  async linesAsync(text: string | Uint8Array, opts: { jail?: string; now?: number } = {}): Promise<Detection[]> {
    const b = bytesOf('text', text);
    const now = (opts.now ?? Date.now()) / 1000;
    return JSON.parse(await callNativeAsync(() => this.#h.processLinesAsync(b, opts.jail, now)));
  }

  /** Structured events through the scenarios (one native call per batch). */
  events(events: readonly SecurityEvent[]): Detection[] {
    return this.packed(packEvents('events', events));
  }

  /** Already packed events (`packEvents`), the fastest path. */
  packed(buf: Uint8Array): Detection[] {
    if (!(buf instanceof Uint8Array)) throw invalidArgument('buf', `expected a Uint8Array, got ${describe(buf)}`);
    return JSON.parse(callNative(() => this.#h.processPacked(buf)));
  }

  /** `packed` as columns, without an object per detection (already checked packed events). */
  [packedColumns](buf: Uint8Array): DetectionColumns {
    return callNative(() => this.#h.processPackedColumns(buf));
  }

  /** What `jail`'s filter makes of each line, without counting (the `fail2ban-regex` view). */
  matchLines(text: string | Uint8Array, jail: string, opts: { now?: number } = {}): LineMatch[] {
    const b = bytesOf('text', text);
    if (typeof jail !== 'string') throw invalidArgument('jail', `expected a jail name, got ${describe(jail)}`);
    const now = (opts.now ?? Date.now()) / 1000;
    return JSON.parse(callNative(() => this.#h.matchLines(b, jail, now)));
  }

  /** Per-jail failure counts and per-scenario bucket levels of `value`. */
  explain(value: string, now = Date.now()): { value: string; allowlisted: boolean; jails: unknown[]; scenarios: unknown[] } {
    if (typeof value !== 'string') throw invalidArgument('value', `expected a string, got ${describe(value)}`);
    return JSON.parse(callNative(() => this.#h.explain(value, now / 1000)));
  }

  stats(): DetectorStats {
    return JSON.parse(callNative(() => this.#h.stats()));
  }

  /** Lets jails ban `value` again (after an unban). */
  forget(value: string): boolean {
    return callNative(() => this.#h.unban(value));
  }

  gc(now = Date.now()): void {
    callNative(() => this.#h.gc(now / 1000));
  }

  allow(entry: string): void {
    if (typeof entry !== 'string') throw invalidArgument('entry', `expected a string, got ${describe(entry)}`);
    callNative(() => this.#h.allow(entry));
    this.#allowRevision++;
  }

  /**
   * Counts `allow` calls (the only way the allowlist changes after
   * construction): an answer of `allowlistedMany` taken at one revision
   * still holds while it is unchanged, so a caller need not ask again.
   */
  get allowlistRevision(): number {
    return this.#allowRevision;
  }

  isAllowlisted(value: string): boolean {
    return callNative(() => this.#h.isAllowlisted(value));
  }

  /** `isAllowlisted` of many values in one native call (`out[i]` is 1 when `values[i]` is covered). */
  allowlistedMany(values: readonly string[]): Uint8Array {
    if (!Array.isArray(values)) throw invalidArgument('values', `expected an array of strings, got ${describe(values)}`);
    return callNative(() => this.#h.allowlistedMany(values as string[]));
  }

  get jails(): string[] {
    return callNative(() => this.#h.jailNames());
  }

  /** Filter patterns skipped because they cannot run on a linear-time engine (file:line: problem). */
  get problems(): string[] {
    return callNative(() => this.#h.problems());
  }
}

/** A Python (fail2ban) regex in the linear-time engine's syntax; throws naming the problem. */
export function translateRegex(pattern: string): string[] {
  if (typeof pattern !== 'string') throw invalidArgument('pattern', `expected a string, got ${describe(pattern)}`);
  return callNative(() => native.autoblockTranslateRegex(pattern));
}
