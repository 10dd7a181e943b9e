/**
 * The autoblocker of one domain: detections become decisions signed with the
 * domain's `omnitide/attest` key, appended to an `omnitide/ledger` log in the
 * order they are applied, and enforced until they expire or are lifted.
 *
 * A transport decides the order: the embedded default applies locally; the
 * JetStream transport (`jetstream.ts`) publishes and every node — this one
 * included — applies in stream order, so all ledgers converge to one root.
 */
import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { Authority, verify as attestVerify, type Envelope, type TrustRoot, type Verification } from '../attest/index.js';
import { ErrorCodes, invalidArgument, OmniError } from '../errors.js';
import { Ledger } from '../ledger/index.js';
import { loggerFor, type Logger } from '../logger.js';
import { describe, parseOptions } from '../validate.js';
import { bodyOf, inForce, subjectName, type Action, type Decision, type DecisionBody, type Scope } from './decision.js';
import { Detector, DETECTION_NUMS, detectorSchema, packedColumns, packEvents, type Detection, type DetectionColumns, type DetectorConfig, type SecurityEvent } from './detector.js';
import { fastifyHook, httpMiddleware, type Enforcer, type MiddlewareOptions } from './enforce.js';
import { FileTail, JournalSource, SyslogSource, type Source, type SyslogOptions } from './sources.js';
import { canonicalValue, DecisionTable } from './table.js';
import { ExpiryQueue } from './expiry.js';
import { Outbox } from './outbox.js';
import { envelopeText, issueDecisions, type IssuedBatch } from './issue.js';

/** Which signed decisions this node accepts (from its own domain and others). */
export interface TrustPolicy {
  /** trusted root keys (default: this domain's key only) */
  roots?: Uint8Array[] | TrustRoot;
  /** attest delegations from a root to other domains' keys, scoped with subject globs (`autoblock/ban/ip/*`) and expiry */
  delegations?: (Envelope | string)[];
  /** role of the TrustRoot whose threshold a `global` decision must meet (k of n) */
  globalRole?: string;
}

/** How decisions reach every node. The embedded default applies locally. */
export interface Transport {
  /** hands envelopes (JSON) to the stream; resolves once they are stored */
  publish(envelopes: string[]): Promise<void>;
  /** starts delivering envelopes in stream order; `deliver` resolves once applied */
  start(deliver: (envelope: string) => Promise<void>, log: Logger): Promise<void>;
  close(): Promise<void>;
}

export interface AutoblockOptions extends DetectorConfig {
  /** this domain's name: the attest key name and the ledger origin suffix */
  domain: string;
  /** encrypts the domain key at rest (omnitide/attest key store); required unless `insecurePlaintext` */
  passphrase?: string;
  /** keeps the domain key unencrypted; must be explicit (tests, throwaway state) */
  insecurePlaintext?: boolean;
  durability?: 'always' | 'batch' | 'none';
  enforcers?: Enforcer[];
  trust?: TrustPolicy;
  transport?: Transport;
  /** rate applied by throttle decisions (default 10 pps, burst 20) */
  throttle?: { pps: number; burst: number };
  logger?: Logger;
}

export interface BanRequest {
  value: string;
  scope?: Scope;
  action?: 'ban' | 'throttle' | 'allow';
  /** seconds or negative for permanent (default 4h) */
  duration?: number;
  reason?: string;
  evidence?: string[];
  global?: boolean;
  rate?: { pps: number; burst: number };
}

export interface Rejection {
  at: number;
  reason: string;
  detail: string;
  id: string | null;
  domain: string | null;
}

export interface VerifyResult {
  valid: boolean;
  reason?: string;
  id: string;
  index?: number;
  treeSize?: number;
  checkpoint?: string;
  signature?: Verification;
}

const domainName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, 'expected 1-64 characters of [A-Za-z0-9._-]');
const optionsSchema = detectorSchema.extend({
  domain: domainName,
  passphrase: z.string().min(1).optional(),
  insecurePlaintext: z.boolean().optional(),
  durability: z.enum(['always', 'batch', 'none']).optional(),
  enforcers: z.array(z.custom<Enforcer>((e) => e !== null && typeof e === 'object' && typeof (e as Enforcer).apply === 'function')).optional(),
  trust: z
    .strictObject({
      roots: z.any().optional(),
      delegations: z.array(z.any()).optional(),
      globalRole: z.string().optional(),
    })
    .optional(),
  transport: z.custom<Transport>((t) => t !== null && typeof t === 'object' && typeof (t as Transport).publish === 'function').optional(),
  throttle: z.strictObject({ pps: z.number().int().min(1), burst: z.number().int().min(1) }).optional(),
  logger: z.any().optional(),
});
/** A lone surrogate: JSON.stringify prints it as an escape no UTF-8 text (what is signed) can hold. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;
const wellFormed = (s: string) => !LONE_SURROGATE.test(s);
const WELL_FORMED = 'contains a lone surrogate (not well-formed UTF-16)';
const banSchema = z.strictObject({
  value: z.string().min(1).max(256).refine(wellFormed, WELL_FORMED),
  scope: z.enum(['ip', 'range', 'user']).optional(),
  action: z.enum(['ban', 'throttle', 'allow']).optional(),
  duration: z.number().finite().optional(),
  reason: z.string().max(4096).refine(wellFormed, WELL_FORMED).optional(),
  evidence: z.array(z.string().regex(/^[0-9a-f]{64}$/)).max(1024).optional(),
  global: z.boolean().optional(),
  rate: z.strictObject({ pps: z.number().int().min(1), burst: z.number().int().min(1) }).optional(),
});

const DEFAULT_DURATION_S = 4 * 3600;
/**
 * Events per part of a pipelined `ingest` (`#decideInParts`): batches of
 * fewer than two parts go through whole. Large enough that a part's native
 * calls and its ledger commit (one fsync) stay a small share of its time.
 */
const PIPELINE_PART = 1000;
const MAX_REJECTIONS = 1000;

/** Decision requests (with origins and times in ms) from detections. */
function requestsOf(dets: Detection[]): [BanRequest[], string[], number[]] {
  const reqs: BanRequest[] = new Array(dets.length);
  const origins: string[] = new Array(dets.length);
  const times: number[] = new Array(dets.length);
  for (let i = 0; i < dets.length; i++) {
    const d = dets[i];
    reqs[i] = { value: d.value, scope: d.scope, action: d.action, duration: d.duration, reason: `${d.origin} ${d.name}: ${d.reason}`, evidence: d.evidence };
    origins[i] = `${d.origin}:${d.name}`;
    times[i] = d.time * 1000;
  }
  return [reqs, origins, times];
}

/** The crate's action and scope codes (`columns::ACTION_CODES` / `SCOPE_CODES`), in code order. */
const ACTION_CODES: readonly Action[] = ['ban', 'throttle'];
const SCOPE_CODES: readonly Scope[] = ['ip', 'range', 'user'];

/**
 * Detections read out of their columns into one array per field (no object
 * per detection: only the evidence lists, which the bodies keep). The strings
 * are slices of the columns' one text.
 */
function detectedOf(c: DetectionColumns): Detected {
  const n = c.nums.length / DETECTION_NUMS;
  const d: Detected = { n, values: new Array(n), reasons: new Array(n), origins: new Array(n), evidence: new Array(n), scopes: new Array(n), actions: new Array(n) };
  const { text, lens, nums } = c;
  let at = 0;
  let l = 0;
  for (let i = 0; i < n; i++) {
    d.values[i] = text.slice(at, (at += lens[l++]));
    d.reasons[i] = text.slice(at, (at += lens[l++]));
    d.origins[i] = text.slice(at, (at += lens[l++]));
    const ev: string[] = new Array(lens[l++]);
    for (let k = 0; k < ev.length; k++) ev[k] = text.slice(at, (at += lens[l++]));
    d.evidence[i] = ev;
    const action = ACTION_CODES[nums[DETECTION_NUMS * i + 2]];
    const scope = SCOPE_CODES[nums[DETECTION_NUMS * i + 3]];
    // the crate only makes these; anything else is a binding out of step with this file
    if (action === undefined || scope === undefined) throw new OmniError(ErrorCodes.INTERNAL, `autoblock: detection ${i} has an unknown action or scope code`);
    d.actions[i] = action;
    d.scopes[i] = scope;
  }
  return d;
}

/** Detections as one array per field (`detectedOf`); times and durations stay in the columns' `nums`. */
interface Detected {
  n: number;
  values: string[];
  reasons: string[];
  origins: string[];
  evidence: string[][];
  scopes: Scope[];
  actions: Action[];
}

/**
 * Packed events (`packEvents`: one event per line) cut at line ends into
 * `n` parts of about equal size (views, no copy).
 */
function partsOf(packed: Uint8Array, n: number): Uint8Array[] {
  const parts: Uint8Array[] = [];
  let start = 0;
  for (let k = 1; k < n && start < packed.length; k++) {
    const nl = packed.indexOf(0x0a, Math.max(start, Math.floor((k * packed.length) / n)));
    if (nl < 0) break;
    parts.push(packed.subarray(start, nl));
    start = nl + 1;
  }
  parts.push(packed.subarray(start));
  return parts;
}

function scopeOf(value: string): Scope {
  if (value.startsWith('user:')) return 'user';
  return value.includes('/') ? 'range' : 'ip';
}

/** Where a decision keeps its envelope: the canonical JSON until first read, then the parsed object. */
const ENVELOPE = Symbol('envelope');
type LazyDecision = Decision & { [ENVELOPE]: Uint8Array | string | Envelope };
/** One accessor pair shared by every decision (see `decisionOf`). */
const envelopeAccessor: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: LazyDecision): Envelope {
    const e = this[ENVELOPE];
    if (e instanceof Uint8Array) return (this[ENVELOPE] = JSON.parse(envelopeText(e)) as Envelope);
    return typeof e === 'string' ? (this[ENVELOPE] = JSON.parse(e) as Envelope) : e;
  },
  set(this: LazyDecision, e: Envelope) {
    this[ENVELOPE] = e;
  },
};
const envelopeSlot: PropertyDescriptor = { enumerable: false, writable: true, configurable: true, value: undefined };

/**
 * Turns a freshly built body (`#body`, not shared) into its decision, in
 * place: the body's keys, then `id`, `envelope`, `logIndex`. The `envelope`
 * object is parsed from its canonical JSON only when first read: the
 * envelope travels as that text (ledger, outbox, stream), and most decisions
 * are never looked at as objects. The getter is an own enumerable property,
 * so spreads and `JSON.stringify` see it as before.
 *
 * Why in place, with one shared accessor and a hidden symbol slot: a copy by
 * spread (`{ ...body, id, get envelope() {…}, logIndex }`) cost ~5 µs per
 * decision, the most of anything this thread did per decision. V8 gives a
 * spread copy a map of its own, so each property added after it copied
 * descriptors, and getters written in a literal are new closures per object,
 * which sends the object to dictionary mode. Adding properties to the
 * body's literal shape with the same accessor pair every time keeps one
 * shared map (fast properties) at a tenth of the cost.
 */
function decisionOf(body: DecisionBody, id: string, envelopeJson: Uint8Array | string, logIndex: number | null): Decision {
  const d = body as LazyDecision;
  envelopeSlot.value = envelopeJson;
  Object.defineProperty(d, ENVELOPE, envelopeSlot);
  envelopeSlot.value = undefined;
  d.id = id;
  Object.defineProperty(d, 'envelope', envelopeAccessor);
  d.logIndex = logIndex;
  return d;
}

/**
 * A decision from a body just parsed out of an envelope (not shared), in
 * place: a spread copy cost ~4 µs per decision for the reason given at
 * `decisionOf` (restart replays every decision in the ledger through here).
 */
function parsedDecision(body: DecisionBody, id: string, envelope: Envelope, logIndex: number | null): Decision {
  const d = body as Decision;
  d.id = id;
  d.envelope = envelope;
  d.logIndex = logIndex;
  return d;
}

export class Autoblocker extends EventEmitter {
  readonly domain: string;
  readonly detector: Detector;
  readonly #authority: Authority;
  readonly #ledger: Ledger;
  readonly #log: Logger;
  readonly #enforcers: Enforcer[];
  readonly #table = new DecisionTable();
  /** one timer for the earliest expiry of all decisions in force */
  readonly #expiry = new ExpiryQueue((key, id) => this.#expire(key, id));
  /**
   * decision id -> ledger index, of `#ids[0 .. #indexed)`: filled in when
   * asked (`#indexOf`), not per append, so logging a batch costs no map
   * insert per decision (lookups are rare: verify, redelivery, outbox replay).
   */
  readonly #index = new Map<string, number>();
  #indexed = 0;
  /** ledger index -> decision id */
  readonly #ids: string[] = [];
  readonly #rejections: Rejection[] = [];
  /** own decisions enforced before the stream delivered them back */
  readonly #unlogged = new Map<string, Decision>();
  /**
   * Detected decisions being signed, by key: not yet in the table, so a
   * detection of the same source in the same batch or in a concurrent
   * `ingest` would otherwise be decided twice.
   */
  readonly #issuing = new Map<string, Action>();
  readonly #sources: Source[] = [];
  readonly #trust: TrustPolicy;
  readonly #transport: Transport | undefined;
  /** decisions handed to the transport and not yet stored by it (on disk) */
  readonly #outbox: Outbox | null;
  readonly #throttle: { pps: number; burst: number };
  readonly #publicKey: Uint8Array;
  readonly #dir: string;
  #queue: Promise<unknown> = Promise.resolve();
  #closed = false;

  private constructor(init: {
    dir: string;
    domain: string;
    detector: Detector;
    authority: Authority;
    ledger: Ledger;
    log: Logger;
    enforcers: Enforcer[];
    trust: TrustPolicy;
    transport?: Transport;
    outbox: Outbox | null;
    throttle: { pps: number; burst: number };
    publicKey: Uint8Array;
  }) {
    super();
    this.#dir = init.dir;
    this.domain = init.domain;
    this.detector = init.detector;
    this.#authority = init.authority;
    this.#ledger = init.ledger;
    this.#log = init.log;
    this.#enforcers = init.enforcers;
    this.#trust = init.trust;
    this.#transport = init.transport;
    this.#outbox = init.outbox;
    this.#throttle = init.throttle;
    this.#publicKey = init.publicKey;
  }

  /**
   * Opens (creating) the domain's state in `dir`: `authority/` (attest keys +
   * audit), `ledger/` (the decision log), `ledger.seed` (its checkpoint key).
   * Decisions still in force are re-applied to the enforcers.
   */
  static async open(dir: string, opts: AutoblockOptions): Promise<Autoblocker> {
    if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', `expected a non-empty path string, got ${describe(dir)}`);
    const o = parseOptions('opts', optionsSchema, opts);
    const log = loggerFor('autoblock', o.logger as Logger | undefined).child({ domain: o.domain });
    const detector = new Detector({ jails: o.jails, scenarios: o.scenarios, allowlist: o.allowlist });
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const authority = await Authority.open(join(dir, 'authority'), { passphrase: o.passphrase, insecurePlaintext: o.insecurePlaintext, durability: o.durability });
    let ledger: Ledger | undefined;
    try {
      const key = authority.listKeys().find((k) => k.name === o.domain) ?? authority.createKey(o.domain);
      const seedFile = join(dir, 'ledger.seed');
      if (!existsSync(seedFile)) {
        writeFileSync(seedFile, randomBytes(32).toString('hex'), { mode: 0o600, flag: 'wx' });
        chmodSync(seedFile, 0o600);
      }
      const seed = new Uint8Array(Buffer.from(readFileSync(seedFile, 'utf8').trim(), 'hex'));
      ledger = await Ledger.open(join(dir, 'ledger'), { origin: `omnitide-autoblock/${o.domain}`, signer: seed, durability: o.durability, logger: log });
      const trust: TrustPolicy = { ...o.trust, roots: o.trust?.roots ?? [key.publicKey] };
      const ab = new Autoblocker({
        dir,
        domain: o.domain,
        detector,
        authority,
        ledger,
        log,
        enforcers: o.enforcers ?? [],
        trust,
        transport: o.transport,
        outbox: o.transport ? Outbox.open(join(dir, 'outbox.jsonl'), o.durability !== 'none') : null,
        throttle: o.throttle ?? { pps: 10, burst: 20 },
        publicKey: key.publicKey,
      });
      await ab.#replay();
      const unsent = await ab.#replayOutbox();
      if (o.transport) {
        await o.transport.start((env) => ab.#enqueue(() => ab.#deliver(env)), log);
        if (unsent.length) ab.#publish(unsent);
      }
      return ab;
    } catch (err) {
      if (ledger) await ledger.close();
      authority.close();
      throw err;
    }
  }

  /** This domain's decision-signing public key. */
  get publicKey(): Uint8Array {
    return this.#publicKey;
  }

  /** The decision log's checkpoint-signing public key. */
  get ledgerPublicKey(): Uint8Array {
    return this.#ledger.publicKey!;
  }

  /** The decision ledger's current size and Merkle root. */
  get root(): { size: number; rootHash: string } {
    return { size: this.#ledger.size, rootHash: Buffer.from(this.#ledger.root()).toString('hex') };
  }

  /** The attest authority holding the domain key (delegations, cosigning). */
  get authority(): Authority {
    return this.#open().#authority;
  }

  #open(): this {
    if (this.#closed) throw new OmniError(ErrorCodes.CLOSED, 'autoblocker: closed');
    return this;
  }

  #enqueue<T>(f: () => Promise<T>): Promise<T> {
    const p = this.#queue.then(f, f);
    this.#queue = p.catch(() => undefined);
    return p;
  }

  // ------------------------------------------------------------- detection

  /** Structured events through the scenarios; resolves to the decisions taken. */
  async ingest(events: SecurityEvent | readonly SecurityEvent[]): Promise<Decision[]> {
    this.#open();
    const list = Array.isArray(events) ? events : [events as SecurityEvent];
    // packed (and so checked) as a whole: a bad event is refused before anything is decided
    const packed = packEvents('events', list);
    if (list.length < 2 * PIPELINE_PART) return this.#decideDetected(this.detector[packedColumns](packed));
    return this.#decideInParts(partsOf(packed, Math.ceil(list.length / PIPELINE_PART)));
  }

  /** Log lines through the jails; resolves to the decisions taken. */
  async ingestLines(text: string | Uint8Array, opts: { jail?: string; now?: number } = {}): Promise<Decision[]> {
    this.#open();
    const big = (typeof text === 'string' ? text.length : text?.byteLength) > 256 * 1024;
    const d = big ? await this.detector.linesAsync(text, opts) : this.detector.lines(text, opts);
    return this.#decide(d);
  }

  async #decide(dets: Detection[]): Promise<Decision[]> {
    if (dets.length === 0) return [];
    return this.#issue(...requestsOf(dets));
  }

  /** `#decide` of detections as columns (the structured-event path). */
  async #decideDetected(c: DetectionColumns): Promise<Decision[]> {
    if (c.nums.length === 0) return [];
    const { bodies, allowRevision } = this.#prepareDetected(c);
    if (bodies.length === 0) return [];
    try {
      return await this.#signAndSubmit(bodies, allowRevision);
    } finally {
      this.#doneIssuing(bodies);
    }
  }

  /**
   * A large batch of packed events in parts, pipelined: part k+1 is detected
   * (and its decisions written) on this thread while part k is signed on the
   * pool, and part k is logged and applied while part k+1 is signed. One
   * batch at a time otherwise leaves a core idle in each phase. Parts are
   * handed to the ledger in their order, so the log holds the decisions in
   * the order one call would have logged them.
   *
   * Should detecting, signing or logging a part fail, the parts before it
   * stay decided, the parts after it are not logged (a signature already
   * made stays in the audit log only, as when signing succeeds and the
   * append fails), and the call rejects with the first error.
   */
  async #decideInParts(parts: Uint8Array[]): Promise<Decision[]> {
    const runs: Promise<Decision[]>[] = [];
    const issuing: DecisionBody[][] = [];
    // resolves once the part before was handed to the ledger (or transport)
    let handedOn: Promise<unknown> = Promise.resolve();
    try {
      for (const part of parts) {
        const dets = this.detector[packedColumns](part);
        if (dets.nums.length === 0) continue;
        const { bodies, allowRevision } = this.#prepareDetected(dets);
        if (bodies.length === 0) continue;
        issuing.push(bodies);
        const signing = this.#sign(bodies);
        const submitted = Promise.all([handedOn, signing]).then(([, issued]) => ({ applied: this.#submit(bodies, issued, allowRevision) }));
        handedOn = submitted;
        runs.push(submitted.then((s) => s.applied));
      }
    } catch (err) {
      await Promise.allSettled(runs);
      for (const b of issuing) this.#doneIssuing(b);
      throw err;
    }
    const settled = await Promise.allSettled(runs);
    for (const b of issuing) this.#doneIssuing(b);
    const out: Decision[] = [];
    for (const r of settled) {
      if (r.status === 'rejected') throw r.reason;
      for (const d of r.value) out.push(d);
    }
    return out;
  }

  // ------------------------------------------------------------- decisions

  /** An operator decision (ban / throttle / allow), signed and logged like detected ones. */
  async ban(req: BanRequest): Promise<Decision> {
    this.#open();
    const r = parseOptions('request', banSchema, req);
    const [d] = await this.#issue([r], ['operator'], [Date.now()], true);
    if (!d) throw invalidArgument('request.value', `${r.value} is allowlisted (allowlists always win)`);
    return d;
  }

  /** Lifts the decision in force for `value`: a signed, logged unban. Null when nothing is in force. */
  async unban(value: string, opts: { reason?: string } = {}): Promise<Decision | null> {
    this.#open();
    if (typeof value !== 'string') throw invalidArgument('value', `expected a string, got ${describe(value)}`);
    const scope = scopeOf(value);
    const key = canonicalValue(scope, value);
    if (key === null) throw invalidArgument('value', `'${value}' is not an address, CIDR prefix or user:name`);
    if (opts.reason !== undefined && (typeof opts.reason !== 'string' || !wellFormed(opts.reason))) {
      throw invalidArgument('opts.reason', typeof opts.reason === 'string' ? WELL_FORMED : `expected a string, got ${describe(opts.reason)}`);
    }
    const current = this.#table.get(key);
    if (!current) return null;
    const body = this.#body({ reason: opts.reason ?? 'operator unban', lifts: current.id }, key, scope, 'unban', 'operator', Date.now(), 0);
    const [d] = await this.#signAndSubmit([body]);
    return d;
  }

  /**
   * A decision body. Its key order is part of what is signed and hashed
   * (`JSON.stringify`): optional fields come before `nonce`, as they always did.
   */
  #body(
    r: Pick<BanRequest, 'reason' | 'evidence' | 'rate' | 'global'> & { lifts?: string },
    value: string,
    scope: Scope,
    action: Action,
    origin: string,
    at: number,
    durationS: number,
    nonce = randomBytes(8).toString('hex'),
  ): DecisionBody {
    const expiresAt = action === 'unban' ? at : durationS < 0 ? null : at + Math.round(durationS * 1000);
    // fields assigned one by one: spreading optional parts cost more than the rest of the body
    const b = { v: 1, action, scope, value, issuedAt: at, expiresAt, reason: r.reason ?? '', evidence: r.evidence ?? [], domain: this.domain, origin } as DecisionBody;
    if (action === 'throttle') b.rate = r.rate ?? this.#throttle;
    if (r.lifts) b.lifts = r.lifts;
    if (r.global) b.global = true;
    b.nonce = nonce;
    return b;
  }

  async #issue(reqs: BanRequest[], origins: string[], times: number[], strict = false): Promise<Decision[]> {
    const { bodies, allowRevision } = this.#prepare(reqs, origins, times, strict);
    if (bodies.length === 0) return [];
    try {
      return await this.#signAndSubmit(bodies, allowRevision);
    } finally {
      if (!strict) this.#doneIssuing(bodies);
    }
  }

  /** Keys of detected decisions applied (now in the table) or failed (a later detection may decide again). */
  #doneIssuing(bodies: DecisionBody[]): void {
    for (const b of bodies) if (this.#issuing.get(b.value) === b.action) this.#issuing.delete(b.value);
  }

  /**
   * The bodies of the decisions to take (detected: not allowlisted, not
   * already in force or being signed; those keys are held in `#issuing`
   * until `#doneIssuing`), and the allowlist revision they were checked at.
   */
  #prepare(reqs: BanRequest[], origins: string[], times: number[], strict: boolean): { bodies: DecisionBody[]; allowRevision: number } {
    const bodies: DecisionBody[] = [];
    const now = Date.now();
    // one draw from the CSPRNG for the whole batch
    const nonces = randomBytes(8 * reqs.length).toString('hex');
    const keys: (string | null)[] = reqs.map((r) => canonicalValue(r.scope ?? scopeOf(r.value), r.value));
    // the allowlist of the whole batch in one native call
    const allowRevision = this.detector.allowlistRevision;
    const allowed = this.detector.allowlistedMany(keys.map((k) => k ?? ''));
    reqs.forEach((r, i) => {
      const scope = r.scope ?? scopeOf(r.value);
      const key = keys[i];
      const action = r.action ?? 'ban';
      if (!this.#admits(key, r.value, scope, action, allowed[i] === 1, strict, now)) return;
      const duration = r.duration ?? DEFAULT_DURATION_S;
      const at = Math.min(times[i] ?? now, now);
      bodies.push(this.#body(r, key, scope, action, origins[i], Math.max(at, now - 1), duration, nonces.slice(16 * i, 16 * i + 16)));
    });
    return { bodies, allowRevision };
  }

  /**
   * Whether a decision about `key` is to be taken (the rules `#prepare` and
   * `#prepareDetected` share). Not for an unusable value (`key` null: an
   * operator's request throws, a detection is skipped and logged) or an
   * allowlisted source (allowlists always win, but an `allow` itself). A
   * detection (not `strict`) is also dropped when the same decision is in
   * force or being signed, like fail2ban's "already banned" (this also
   * absorbs lines re-read after a crash); its key is then held in
   * `#issuing` until `#doneIssuing`.
   */
  #admits(key: string | null, value: string, scope: Scope, action: Action, allowlisted: boolean, strict: boolean, now: number): key is string {
    if (key === null) {
      if (strict) throw invalidArgument('request.value', `'${value}' is not a valid ${scope} value`);
      this.#log.warn({ value, scope }, 'autoblock: detection with an unusable value skipped');
      return false;
    }
    if (action !== 'allow' && allowlisted) {
      this.#log.info({ value: key }, 'autoblock: allowlisted, no decision');
      return false;
    }
    if (strict) return true;
    const cur = this.#table.get(key);
    if ((cur && cur.action === action && inForce(cur, now)) || this.#issuing.get(key) === action) return false;
    this.#issuing.set(key, action);
    return true;
  }

  /**
   * `#prepare` of detections as columns, without a request object per
   * detection: the same checks (`#admits`), one body per detection admitted.
   */
  #prepareDetected(c: DetectionColumns): { bodies: DecisionBody[]; allowRevision: number } {
    const d = detectedOf(c);
    const bodies: DecisionBody[] = [];
    const now = Date.now();
    const nonces = randomBytes(8 * d.n).toString('hex');
    const keys: (string | null)[] = new Array(d.n);
    for (let i = 0; i < d.n; i++) keys[i] = canonicalValue(d.scopes[i], d.values[i]);
    const allowRevision = this.detector.allowlistRevision;
    const allowed = this.detector.allowlistedMany(keys.map((k) => k ?? ''));
    // one request for the whole batch, refilled per detection (`#body` reads it at once)
    const req: { reason: string; evidence: string[] } = { reason: '', evidence: [] };
    for (let i = 0; i < d.n; i++) {
      const key = keys[i];
      const scope = d.scopes[i];
      const action = d.actions[i];
      if (!this.#admits(key, d.values[i], scope, action, allowed[i] === 1, false, now)) continue;
      const at = Math.min(c.nums[DETECTION_NUMS * i] * 1000, now);
      req.reason = d.reasons[i];
      req.evidence = d.evidence[i];
      bodies.push(this.#body(req, key, scope, action, d.origins[i], Math.max(at, now - 1), c.nums[DETECTION_NUMS * i + 1], nonces.slice(16 * i, 16 * i + 16)));
    }
    return { bodies, allowRevision };
  }

  async #signAndSubmit(bodies: DecisionBody[], allowRevision?: number): Promise<Decision[]> {
    // written and signed in Rust from the bodies' fields; the envelopes come
    // back as views of one buffer, appended to the ledger as they are
    return this.#submit(bodies, await this.#sign(bodies), allowRevision);
  }

  /**
   * Signs decisions with the domain key. A single node appends them to its
   * ledger before they leave `#submit`, so the authority's audit log records
   * the batch's IDs and where they are logged instead of a second copy of
   * each envelope. A cluster node keeps the per-envelope audit: its
   * decisions leave (outbox, stream) before its ledger logs them.
   */
  #sign(bodies: DecisionBody[]): Promise<IssuedBatch> {
    return issueDecisions(this.#authority, this.domain, this.domain, bodies, this.#transport ? undefined : this.#ledger.origin);
  }

  /**
   * The allowlist's answer for each decision about to be applied, asked
   * again (it may have changed while the batch was signed) unless it is
   * unchanged since `allowRevision`, when `#prepare` found none of the
   * bodies' values allowlisted (null: none is).
   */
  #allowlisted(values: () => string[], allowRevision: number | undefined): Uint8Array | null {
    if (allowRevision === this.detector.allowlistRevision) return null;
    return this.detector.allowlistedMany(values());
  }

  /**
   * Logs (or hands to the transport) and applies signed decisions, in order:
   * the outbox write and the work on `#queue` are started before the first
   * await, so calls are logged in the order they are made.
   */
  async #submit(bodies: DecisionBody[], { ids, envelopes, packed }: IssuedBatch, allowRevision?: number): Promise<Decision[]> {
    if (this.#transport) {
      // enforced here at once (the cluster may be down); logged when the stream
      // delivers it back, in stream order like on every other node
      const envs = envelopes.map(envelopeText);
      const local = envs.map((e, k) => decisionOf(bodies[k], ids[k], e, null));
      // durable before it is enforced or returned: a node closed while the
      // cluster is unreachable publishes it again when it reopens
      this.#outbox!.append(envs);
      await this.#enqueue(async () => {
        const allowed = this.#allowlisted(() => local.map((d) => d.value), allowRevision);
        for (let k = 0; k < local.length; k++) {
          this.#unlogged.set(local[k].id, local[k]);
          const pending = this.#apply(local[k], allowed !== null && allowed[k] === 1);
          if (pending) await pending;
        }
      });
      this.#publish(envs);
      return local;
    }
    return this.#enqueue(async () => {
      // one contiguous run in the ledger, from index `first`
      // the buffer the addon signed into, as it is (nothing else holds or changes it)
      const first = await this.#ledger.appendPacked(packed.data, packed.ends);
      const out: Decision[] = new Array(envelopes.length);
      for (let k = 0; k < envelopes.length; k++) {
        const d = decisionOf(bodies[k], ids[k], envelopes[k], first + k);
        this.#ids[first + k] = d.id;
        out[k] = d;
      }
      const allowed = this.#allowlisted(() => out.map((d) => d.value), allowRevision);
      for (let k = 0; k < out.length; k++) {
        const pending = this.#apply(out[k], allowed !== null && allowed[k] === 1);
        if (pending) await pending;
      }
      return out;
    });
  }

  /** Hands envelopes to the transport; the outbox forgets them once stored. */
  #publish(envs: string[]): void {
    this.#transport!.publish(envs).then(
      () => {
        if (!this.#closed) this.#outbox!.settle(envs);
      },
      (err) => {
        // closed before the cluster stored them: they stay in the outbox
        if (!this.#closed) this.#log.error({ err }, 'autoblock: publish failed');
      },
    );
  }

  /**
   * Decisions left in the outbox by a previous run: those the ledger already
   * holds were stored and delivered (dropped from the outbox); the others are
   * enforced again and returned for publishing.
   */
  async #replayOutbox(): Promise<string[]> {
    if (!this.#outbox) return [];
    const unsent: string[] = [];
    const logged: string[] = [];
    for (const env of this.#outbox.pending) {
      const c = this.#check(env);
      if (!c.ok) {
        this.#reject(c.rejection);
        logged.push(env);
      } else if (this.#indexOf(c.id) !== undefined) logged.push(env);
      else {
        const d = parsedDecision(c.body, c.id, JSON.parse(env), null);
        this.#unlogged.set(d.id, d);
        await this.#apply(d);
        unsent.push(env);
      }
    }
    this.#outbox.settle(logged);
    if (unsent.length) this.#log.info({ pending: unsent.length }, 'autoblock: republishing decisions from the outbox');
    return unsent;
  }

  /** Adds this domain's signature to a decision of another domain (k-of-n global decisions). */
  async cosign(envelope: Envelope | string): Promise<Envelope> {
    this.#open();
    return (await this.#authority.cosign(envelope, this.domain)).envelope;
  }

  /** Publishes an envelope signed elsewhere (e.g. a cosigned global decision) through this node's transport. */
  async submit(envelope: Envelope | string): Promise<void> {
    this.#open();
    const s = typeof envelope === 'string' ? envelope : JSON.stringify(envelope);
    if (this.#transport) return this.#transport.publish([s]);
    await this.#enqueue(() => this.#deliver(s));
  }

  /** Checks signature and trust policy. */
  #check(envelope: string): { ok: true; body: DecisionBody; id: string; v: Verification } | { ok: false; rejection: Rejection } {
    const reject = (reason: string, detail: string, id: string | null = null, domain: string | null = null) => ({ ok: false as const, rejection: { at: Date.now(), reason, detail, id, domain } });
    let env: Envelope;
    let body: DecisionBody;
    try {
      env = JSON.parse(envelope);
      body = bodyOf(env);
    } catch (err) {
      return reject('malformed', (err as Error).message);
    }
    const roots = this.#trust.roots!;
    const v = attestVerify(envelope, {
      roots,
      delegations: this.#trust.delegations,
      ...(body.global && this.#trust.globalRole ? { role: this.#trust.globalRole } : {}),
    });
    if (!v.valid) return reject(v.reason ?? 'invalid', v.detail, v.id, body.domain);
    if (body.global && !this.#trust.globalRole) return reject('threshold_not_met', 'global decisions need a globalRole in the trust policy', v.id, body.domain);
    // the subject must say what the body says (the delegation scope is checked on the subject)
    const stmt = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8'));
    const subj = stmt.subject?.[0]?.name;
    if (stmt.subject?.length !== 1 || subj !== subjectName(body.action, body.scope, body.value)) return reject('malformed', 'subject does not match the decision', v.id, body.domain);
    if (canonicalValue(body.scope, body.value) !== body.value) return reject('malformed', `bad ${body.scope} value '${body.value}'`, v.id, body.domain);
    return { ok: true, body, id: v.id!, v };
  }

  #reject(r: Rejection): void {
    this.#rejections.push(r);
    if (this.#rejections.length > MAX_REJECTIONS) this.#rejections.shift();
    this.#log.warn(r, 'autoblock: decision rejected');
    try {
      appendFileSync(join(this.#dir, 'rejections.jsonl'), JSON.stringify(r) + '\n');
    } catch {
      // the pino record above is the log of last resort
    }
    this.emit('rejected', r);
  }

  /** The ledger index of decision `id` (catching `#index` up with `#ids` first). */
  #indexOf(id: string): number | undefined {
    // stops at a gap (an append not yet recorded) and resumes there next time
    for (let i = this.#indexed; i < this.#ids.length && this.#ids[i] !== undefined; i = ++this.#indexed) this.#index.set(this.#ids[i], i);
    return this.#index.get(id);
  }

  /** One envelope from the transport: verify, append in delivery order, apply (idempotent). */
  async #deliver(envelope: string): Promise<void> {
    if (this.#closed) return;
    const c = this.#check(envelope);
    if (!c.ok) return this.#reject(c.rejection);
    if (this.#indexOf(c.id) !== undefined) return; // redelivery: already in the ledger
    const [r] = await this.#ledger.appendMany([envelope]);
    this.#ids[r.index] = c.id;
    const mine = this.#unlogged.get(c.id);
    if (mine) {
      this.#unlogged.delete(c.id);
      mine.logIndex = r.index;
      this.emit('logged', mine);
      return;
    }
    const d = parsedDecision(c.body, c.id, JSON.parse(envelope), r.index);
    await this.#apply(d);
    this.emit('logged', d);
  }

  /**
   * Enforces (or lifts) a decision. `allowlisted`: the allowlist's answer for
   * `d.value` when the caller asked for a batch at once. Without enforcers
   * nothing here waits, and no promise is made per decision.
   */
  #apply(d: Decision, allowlisted?: boolean): Promise<void> | undefined {
    const key = d.value;
    if (d.action === 'unban') return this.#lift(key, d);
    if (!inForce(d)) {
      this.emit('decision', d);
      return;
    }
    if (d.action !== 'allow' && (allowlisted ?? this.detector.isAllowlisted(key))) {
      this.#log.info({ value: key, id: d.id }, 'autoblock: decision for an allowlisted source not enforced');
      this.emit('decision', d);
      return;
    }
    const prev = this.#table.set(key, d);
    if (this.#enforcers.length > 0) return this.#enforce(key, d, prev);
    this.#arm(key, d);
    this.emit('decision', d);
  }

  async #enforce(key: string, d: Decision, prev: Decision | undefined): Promise<void> {
    if (prev) await this.#removeFromEnforcers(prev);
    for (const e of this.#enforcers) {
      try {
        await e.apply(d);
      } catch (err) {
        this.#log.error({ err, enforcer: e.name, value: key }, 'autoblock: enforcer failed to apply a decision');
      }
    }
    this.#arm(key, d);
    this.emit('decision', d);
  }

  async #lift(key: string, d: Decision): Promise<void> {
    const cur = this.#table.get(key);
    if (cur && cur.id === d.lifts) {
      await this.#end(key, cur);
      this.detector.forget(key);
    }
    this.emit('decision', d);
  }

  #arm(key: string, d: Decision): void {
    if (d.expiresAt !== null) this.#expiry.add(key, d.id, d.expiresAt);
  }

  /** The expiry time of decision `id` came: ends it unless it was superseded or lifted meanwhile. */
  #expire(key: string, id: string): void {
    const d = this.#table.get(key);
    if (d?.id !== id || this.#closed) return;
    void this.#enqueue(async () => {
      if (this.#table.get(key)?.id !== id) return;
      await this.#end(key, d);
      this.emit('expired', d);
    });
  }

  async #end(key: string, d: Decision): Promise<void> {
    if (this.#table.get(key)?.id === d.id) this.#table.delete(key);
    await this.#removeFromEnforcers(d);
  }

  async #removeFromEnforcers(d: Decision): Promise<void> {
    for (const e of this.#enforcers) {
      try {
        await e.remove(d);
      } catch (err) {
        this.#log.error({ err, enforcer: e.name, value: d.value }, 'autoblock: enforcer failed to remove a decision');
      }
    }
  }

  /** Rebuilds the table from the ledger (restart): decisions in force are enforced again. */
  async #replay(): Promise<void> {
    let i = 0;
    const latest = new Map<string, Decision>();
    for await (const e of this.#ledger.entries()) {
      const env = JSON.parse(Buffer.from(e).toString('utf8')) as Envelope;
      const body = bodyOf(env);
      const id = attestVerify(env, { roots: this.#trust.roots!, delegations: this.#trust.delegations }).id ?? '';
      this.#ids[i] = id;
      const d = parsedDecision(body, id, env, i);
      if (body.action === 'unban') {
        if (latest.get(body.value)?.id === body.lifts) latest.delete(body.value);
      } else latest.set(body.value, d);
      i++;
    }
    for (const d of latest.values()) if (inForce(d)) await this.#apply(d);
  }

  // ------------------------------------------------------------- queries

  /** The decision in force for an address (allow wins, then the most specific), O(1). */
  lookup(ip: string): Decision | undefined {
    const d = this.#table.lookup(ip);
    return d && inForce(d) ? d : undefined;
  }

  /** Decisions in force; with `all`, every decision in the ledger (oldest first). */
  async decisions(opts: { all?: boolean } = {}): Promise<Decision[]> {
    this.#open();
    if (!opts.all) return [...this.#table.values()].filter((d) => inForce(d));
    const out: Decision[] = [];
    let i = 0;
    for await (const e of this.#ledger.entries()) {
      const env = JSON.parse(Buffer.from(e).toString('utf8')) as Envelope;
      out.push(parsedDecision(bodyOf(env), this.#ids[i] ?? '', env, i));
      i++;
    }
    return out;
  }

  /** Decisions this node refused (bad signature, untrusted or out-of-scope domain, expired delegation). */
  rejections(): Rejection[] {
    return [...this.#rejections];
  }

  /**
   * Proves a decision: its entry is in the ledger under a signed checkpoint
   * (RFC 6962 inclusion proof) and its signature satisfies the trust policy.
   */
  async verify(id: string): Promise<VerifyResult> {
    this.#open();
    if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id)) throw invalidArgument('id', 'expected a 64-character hex decision ID');
    const index = this.#indexOf(id);
    if (index === undefined) return { valid: false, reason: 'not in the ledger', id };
    await this.#ledger.checkpoint();
    const bundle = await this.#ledger.bundle(index);
    const incl = Ledger.verifyBundle(bundle, this.#ledger.publicKey!);
    if (!incl.valid) return { valid: false, reason: `inclusion: ${incl.reason}`, id, index };
    const env = Buffer.from(bundle.entry).toString('utf8');
    const c = this.#check(env);
    const signature = c.ok ? c.v : undefined;
    if (!c.ok) return { valid: false, reason: `signature: ${c.rejection.reason}: ${c.rejection.detail}`, id, index, treeSize: bundle.treeSize, checkpoint: bundle.checkpoint };
    if (c.id !== id) return { valid: false, reason: 'entry holds another decision', id, index };
    return { valid: true, id, index, treeSize: bundle.treeSize, checkpoint: bundle.checkpoint, signature };
  }

  /** Why `value` is (not) blocked: the decision in force, its history in the ledger, the detectors' state. */
  async explain(value: string): Promise<{ value: string; blocked: boolean; decision: Decision | null; history: Decision[]; allowlisted: boolean; detector: unknown }> {
    this.#open();
    if (typeof value !== 'string') throw invalidArgument('value', `expected a string, got ${describe(value)}`);
    const scope = scopeOf(value);
    const key = canonicalValue(scope, value) ?? value;
    const decision = (scope === 'ip' ? this.lookup(key) : this.#table.get(key)) ?? null;
    const history = (await this.decisions({ all: true })).filter((d) => d.value === key || (decision && d.value === decision.value));
    return {
      value: key,
      blocked: decision !== null && decision.action !== 'allow',
      decision,
      history,
      allowlisted: this.detector.isAllowlisted(key),
      detector: this.detector.explain(key),
    };
  }

  // ------------------------------------------------------------- enforcement helpers

  /** node:http / Express middleware answering 403/429 for blocked clients in O(1). */
  middleware(opts: MiddlewareOptions = {}) {
    return httpMiddleware(this, opts);
  }

  /** Fastify `onRequest` hook. */
  fastifyHook(opts: MiddlewareOptions = {}) {
    return fastifyHook(this, opts);
  }

  // ------------------------------------------------------------- sources

  /** Tails a log file into the jails (rotation, truncation, position kept in `positionFile`, default `<dir>/tail-<name>.pos`). */
  async tail(path: string, opts: { jail?: string; positionFile?: string; pollMs?: number; fromStart?: boolean } = {}): Promise<FileTail> {
    this.#open();
    const positionFile = opts.positionFile ?? join(this.#dir, `tail-${basename(path).replace(/[^A-Za-z0-9._-]/g, '_')}.pos`);
    const t = await FileTail.start(path, (lines) => this.ingestLines(lines, { jail: opts.jail }), { positionFile, pollMs: opts.pollMs, fromStart: opts.fromStart, log: this.#log });
    this.#sources.push(t);
    return t;
  }

  /** Syslog messages (RFC 3164/5424) on UDP and/or TCP, loopback by default, into the jails. */
  async syslog(opts: SyslogOptions & { jail?: string }): Promise<SyslogSource> {
    this.#open();
    const s = await SyslogSource.start((lines) => this.ingestLines(lines, { jail: opts.jail }), opts, this.#log);
    this.#sources.push(s);
    return s;
  }

  /** `journalctl -o json -f` into the jails (cursor kept in `<dir>/journal.cursor`). */
  journald(opts: { jail?: string; matches?: string[]; files?: string[]; journalctl?: string } = {}): JournalSource {
    this.#open();
    const s = JournalSource.start(
      (lines) => this.ingestLines(lines, { jail: opts.jail }),
      { matches: opts.matches, files: opts.files, journalctl: opts.journalctl, cursorFile: join(this.#dir, 'journal.cursor') },
      this.#log,
    );
    this.#sources.push(s);
    return s;
  }

  /** Stops timers, removes every enforced entry (nothing left behind), closes the transport and logs. */
  async close(): Promise<void> {
    if (this.#closed) return;
    for (const s of this.#sources.splice(0)) await s.close();
    await this.#queue;
    this.#closed = true;
    this.#expiry.close();
    if (this.#transport) await this.#transport.close();
    for (const e of this.#enforcers) {
      try {
        await e.close?.();
      } catch (err) {
        this.#log.error({ err, enforcer: e.name }, 'autoblock: enforcer close failed');
      }
    }
    await this.#ledger.close();
    this.#authority.close();
  }
}
