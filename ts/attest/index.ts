/**
 * `omnitide/attest`: an attestation authority. DSSE envelopes carrying in-toto
 * Statement v1 payloads, Ed25519 (strict) signatures, attenuated delegation
 * chains verifiable offline from the root public keys, TUF-style k-of-n roles
 * and root rotation, real-time revocation and an audit trail in the omnitide
 * ledger. All logic runs in the `omnitide-attest` crate.
 *
 * Canonicalization: everything the authority signs is RFC 8785 (JCS) JSON;
 * verification checks the DSSE PAE over the payload bytes exactly as received,
 * so re-serializing an envelope never changes its validity.
 *
 * Trust: verification is always against anchors the caller holds (trust
 * roots, the audit log's public key); without a role the `root` role's
 * threshold applies; revocations count only when their signer has authority
 * over the target (others are ignored and listed in `warnings`).
 */
import { z } from 'zod';
import { callNative, callNativeAsync, ErrorCodes, invalidArgument, OmniError } from '../errors.js';
import { native } from '../native.js';
import { bytesOfLength, parseOptions, u8 } from '../validate.js';

export { OmniError };

export interface Signature {
  keyid: string;
  sig: string;
}
/** A DSSE envelope (`payload` and `sig` are Base64). */
export interface Envelope {
  payloadType: string;
  payload: string;
  signatures: Signature[];
}
export interface Subject {
  name: string;
  /** algorithm -> lowercase hex digest */
  digest: Record<string, string>;
}
export interface KeyInfo {
  name: string;
  /** hex BLAKE3 of the public key */
  keyid: string;
  publicKey: Uint8Array;
  hasSecret: boolean;
}
export interface Issued {
  /** Attestation ID: hex BLAKE3 of the DSSE PAE (unchanged by cosigning). */
  id: string;
  envelope: Envelope;
  /** Index of the audit entry in the ledger. */
  logIndex: number;
}
/** `Issued` with the envelope as its canonical JSON string (`Authority.issueManyJson`). */
export interface IssuedJson {
  id: string;
  /** canonical (RFC 8785) JSON of the DSSE envelope */
  envelope: string;
  logIndex: number;
}
/** What `issue`/`issueMany` sign: an in-toto statement's subjects, predicate type and predicate. */
export interface IssueRequest {
  signer: string;
  subject: Subject[];
  predicateType: string;
  predicate?: unknown;
  expiresAt?: number;
}
export interface Scope {
  predicateTypes?: string[];
  /** globs over subject names (`*` stays within a `/` segment, `**` crosses) */
  subjects?: string[];
  /** further delegation levels allowed below the delegate (0 = may issue, not delegate) */
  maxDepth?: number;
  /** Unix ms */
  expiresAt?: number;
}
export interface Role {
  keyids: string[];
  threshold: number;
}
/** TUF-style trust root: keys by key ID, a mandatory `root` role, further roles. */
export interface TrustRoot {
  version: number;
  keys: Record<string, string>;
  roles: Record<string, Role>;
  expiresAt?: number;
}
export type Reason = 'expired' | 'revoked' | 'out_of_scope' | 'bad_signature' | 'unknown_key' | 'threshold_not_met' | 'malformed';
export interface Verification {
  valid: boolean;
  reason: Reason | null;
  detail: string;
  id: string | null;
  predicateType: string | null;
  /** delegation IDs from the trusted key down to the first accepted signer */
  chain: string[];
  /** key IDs of the accepted signers */
  signers: string[];
  /** what was ignored or left unchecked: unauthorised revocations, a missing trust anchor */
  warnings: string[];
}
export interface Limits {
  maxEnvelopeBytes?: number;
  maxSignatures?: number;
  maxSubjects?: number;
  maxDelegations?: number;
  maxChainDepth?: number;
}
export interface VerifyOptions {
  /** a trust root, or root public keys (all in the `root` role, threshold 1) */
  roots: TrustRoot | Uint8Array[];
  role?: string;
  /** verification time, Unix ms (default now) */
  at?: number;
  delegations?: (Envelope | string)[];
  clockSkewMs?: number;
  limits?: Limits;
}
export interface Revocation {
  target: { attestation: string } | { key: string };
  reason: string;
  effectiveFrom: number;
  /** key ID of the key that signed the revocation */
  by: string;
  /** ID of the revocation record */
  id: string;
}
/** An attestation's audit bundle (not the ledger's binary proof bundle). */
export interface AuditBundle {
  mediaType: string;
  envelope: Envelope;
  logEntry: string;
  hashAlg: string;
  inclusionProof: { index: number; treeSize: number; hashes: string[] };
  /** C2SP signed-note checkpoint, and the key the log CLAIMS signed it (not a trust anchor) */
  checkpoint: { text: string; publicKey: string };
}
/** @deprecated the former name of {@link AuditBundle} */
export type Bundle = AuditBundle;
export interface OpenOptions {
  /** encrypts secret keys at rest (Argon2id + XChaCha20-Poly1305); required unless `insecurePlaintext` */
  passphrase?: string;
  /** store secret keys UNENCRYPTED (tests only); must be explicit */
  insecurePlaintext?: boolean;
  durability?: 'always' | 'batch' | 'none';
  /** origin of a new audit ledger (default `omnitide-attest/<16 hex digits of the log key ID>`) */
  logOrigin?: string;
  /** tree hash of a new audit ledger: 'blake3' (default) or 'sha256' (CT/C2SP tooling) */
  logHash?: 'blake3' | 'sha256';
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'expected a 64-character lowercase hex ID');
const envelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.string() })),
});
const subjectSchema = z.strictObject({ name: z.string(), digest: z.record(z.string(), z.string()) });
const limitsSchema = z
  .strictObject({
    maxEnvelopeBytes: z.number().int().positive().optional(),
    maxSignatures: z.number().int().positive().optional(),
    maxSubjects: z.number().int().positive().optional(),
    maxDelegations: z.number().int().positive().optional(),
    maxChainDepth: z.number().int().positive().optional(),
  })
  .optional();
const trustRootSchema = z.strictObject({
  version: z.number().int().nonnegative(),
  keys: z.record(z.string(), z.string()),
  roles: z.record(z.string(), z.strictObject({ keyids: z.array(z.string()), threshold: z.number().int().positive() })),
  expiresAt: z.number().int().optional(),
});
const verifySchema = z.strictObject({
  roots: z.union([trustRootSchema, z.array(u8(32))]),
  role: z.string().optional(),
  at: z.number().int().optional(),
  delegations: z.array(z.union([envelopeSchema, z.string()])).optional(),
  clockSkewMs: z.number().int().nonnegative().optional(),
  limits: limitsSchema,
});
const issueSchema = z.strictObject({
  signer: z.string(),
  subject: z.array(subjectSchema).min(1),
  predicateType: z.string().min(1),
  predicate: z.unknown().optional(),
  expiresAt: z.number().int().optional(),
});
const scopeSchema = z.strictObject({
  predicateTypes: z.array(z.string()).optional(),
  subjects: z.array(z.string()).optional(),
  maxDepth: z.number().int().nonnegative().optional(),
  expiresAt: z.number().int().optional(),
});
const delegateSchema = z.strictObject({ from: z.string(), to: z.string(), scope: scopeSchema.optional() });
const revokeSchema = z
  .strictObject({
    attestation: hex64.optional(),
    key: hex64.optional(),
    reason: z.string().max(1024),
    effectiveFrom: z.number().int().optional(),
    by: z.string(),
    cosigners: z.array(z.string()).optional(),
  })
  .refine((r) => (r.attestation === undefined) !== (r.key === undefined), { message: 'exactly one of attestation or key is required' });
const openSchema = z.strictObject({
  passphrase: z.string().min(1).optional(),
  insecurePlaintext: z.boolean().optional(),
  durability: z.enum(['always', 'batch', 'none']).optional(),
  logOrigin: z.string().min(1).optional(),
  logHash: z.enum(['blake3', 'sha256']).optional(),
});
const reencryptSchema = z.strictObject({ passphrase: z.string().min(1).optional(), newPassphrase: z.string().min(1) });


const ISSUE_KEYS = new Set(['signer', 'subject', 'predicateType', 'predicate', 'expiresAt']);
const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === 'object' && !Array.isArray(v) && (Object.getPrototypeOf(v) === Object.prototype || Object.getPrototypeOf(v) === null);

/** Checked issue requests (`requests[i]` named on a bad one). */
function checkedIssueRequests(reqs: readonly unknown[]): unknown[] {
  if (!Array.isArray(reqs)) throw invalidArgument('requests', 'expected an array');
  // the hand-written check accepts exactly what issueSchema accepts for the
  // common shape (zod costs microseconds per request in large batches);
  // anything else goes through zod, which names the argument and the problem
  return reqs.map((q, i) => (isPlainIssue(q) ? q : parseOptions(`requests[${i}]`, issueSchema, q)));
}

/** Checked issue requests as the one JSON array the native `issueMany` parses. */
function issueRequestsJson(reqs: readonly unknown[]): string {
  return JSON.stringify(checkedIssueRequests(reqs));
}

/** `id TAB logIndex TAB envelope LF` per attestation (canonical JSON has no raw TAB/LF), parsed. */
function issuedLines(lines: string): IssuedJson[] {
  const out: IssuedJson[] = [];
  for (let at = 0; at < lines.length; ) {
    const t1 = lines.indexOf('\t', at);
    const t2 = lines.indexOf('\t', t1 + 1);
    const end = lines.indexOf('\n', t2 + 1);
    out.push({ id: lines.slice(at, t1), envelope: lines.slice(t2 + 1, end), logIndex: Number(lines.slice(t1 + 1, t2)) });
    at = end + 1;
  }
  return out;
}

/** A subset of `issueSchema` checked without zod: true only when zod would accept `q` unchanged. */
function isPlainIssue(q: unknown): q is z.output<typeof issueSchema> {
  if (!isRecord(q)) return false;
  for (const k in q) if (!ISSUE_KEYS.has(k)) return false;
  if (typeof q.signer !== 'string' || typeof q.predicateType !== 'string' || q.predicateType.length === 0) return false;
  if (q.expiresAt !== undefined && !Number.isSafeInteger(q.expiresAt)) return false;
  const subj = q.subject;
  if (!Array.isArray(subj) || subj.length === 0) return false;
  for (const s of subj) {
    if (!isRecord(s) || typeof s.name !== 'string' || !isRecord(s.digest)) return false;
    for (const k in s) if (k !== 'name' && k !== 'digest') return false;
    for (const k in s.digest) if (typeof s.digest[k] !== 'string') return false;
  }
  return true;
}

const te = new TextEncoder();
const b64 = (b: Uint8Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('base64');
const unb64 = (s: string) => new Uint8Array(Buffer.from(s, 'base64'));

/** Key ID of a public key: hex BLAKE3. */
export function keyId(publicKey: Uint8Array): string {
  const pk = bytesOfLength('publicKey', publicKey, 32);
  return callNative(() => native.attestKeyId(pk));
}

/** A trust root from root public keys (`root` role with `threshold`) and optional roles of further keys. */
export function trustRoot(
  rootKeys: Uint8Array[],
  opts: { threshold?: number; roles?: Record<string, { keys: Uint8Array[]; threshold: number }>; version?: number; expiresAt?: number } = {},
): TrustRoot {
  const keys: Record<string, string> = {};
  const add = (k: Uint8Array) => {
    const id = keyId(k);
    keys[id] = b64(k);
    return id;
  };
  const roles: Record<string, Role> = { root: { keyids: [...new Set(rootKeys.map(add))], threshold: opts.threshold ?? 1 } };
  for (const [name, r] of Object.entries(opts.roles ?? {})) roles[name] = { keyids: [...new Set(r.keys.map(add))], threshold: r.threshold };
  return { version: opts.version ?? 1, keys, roles, ...(opts.expiresAt === undefined ? {} : { expiresAt: opts.expiresAt }) };
}

function envelopeBytes(arg: string, e: Envelope | string | Uint8Array): Uint8Array {
  if (e instanceof Uint8Array) return e;
  if (typeof e === 'string') return te.encode(e);
  if (e === null || typeof e !== 'object') throw invalidArgument(arg, 'expected an envelope object, JSON string or bytes');
  return te.encode(JSON.stringify(e));
}

function optsJson(opts: VerifyOptions): string {
  const o = parseOptions('opts', verifySchema, opts);
  const roots = Array.isArray(o.roots) ? trustRoot(o.roots as Uint8Array[]) : o.roots;
  return JSON.stringify({ ...o, roots });
}

function bundleArgs(bundle: AuditBundle | string, opts: Partial<VerifyOptions> & { logPublicKey?: Uint8Array }): [string, Uint8Array | undefined, string | undefined] {
  if (opts === null || typeof opts !== 'object') throw invalidArgument('opts', 'expected an object');
  const { logPublicKey, ...rest } = opts;
  const lk = logPublicKey === undefined ? undefined : bytesOfLength('opts.logPublicKey', logPublicKey, 32);
  const b = typeof bundle === 'string' ? bundle : JSON.stringify(bundle);
  const o = rest.roots === undefined ? undefined : optsJson(rest as VerifyOptions);
  return [b, lk, o];
}

function keyInfo(json: string): KeyInfo {
  const k = JSON.parse(json);
  return { ...k, publicKey: unb64(k.publicKey) };
}

function envelopeArgs(envelopes: readonly (Envelope | string | Uint8Array)[]): Uint8Array[] {
  if (!Array.isArray(envelopes)) throw invalidArgument('envelopes', 'expected an array');
  return envelopes.map((e, i) => envelopeBytes(`envelopes[${i}]`, e));
}

/** Verifies offline (no revocations). Bad data gives `valid: false` with a reason; wrong argument types throw. */
export function verify(envelope: Envelope | string | Uint8Array, opts: VerifyOptions): Verification {
  return verifyMany([envelope], opts)[0];
}

/** All signature checks of all envelopes and delegations go into one Ed25519 batch verification. */
export function verifyMany(envelopes: readonly (Envelope | string | Uint8Array)[], opts: VerifyOptions): Verification[] {
  const e = envelopeArgs(envelopes);
  const o = optsJson(opts);
  return JSON.parse(callNative(() => native.attestVerifyMany(e, o)));
}

/** `verifyMany` off the event loop. */
export async function verifyManyAsync(envelopes: readonly (Envelope | string | Uint8Array)[], opts: VerifyOptions): Promise<Verification[]> {
  const e = envelopeArgs(envelopes);
  const o = optsJson(opts);
  return JSON.parse(await callNativeAsync(() => native.attestVerifyManyAsync(e, o)));
}

/**
 * Checks a root rotation: `newRoot` (a signed root envelope) must have version
 * `old.version + 1` and be signed by a threshold of the old and of the new root keys.
 */
export function verifyRotation(oldRoot: TrustRoot, newRoot: Envelope | string): { valid: boolean; reason: Reason | null; detail: string; root: TrustRoot | null } {
  const old = parseOptions('oldRoot', trustRootSchema, oldRoot);
  const env = typeof newRoot === 'string' ? newRoot : JSON.stringify(parseOptions('newRoot', envelopeSchema, newRoot));
  return JSON.parse(callNative(() => native.attestVerifyRotation(JSON.stringify(old), env)));
}

/**
 * Follows the ledger of an authority directory written by another process
 * and verifies with the revocations seen so far (re-read at most every `pollMs`).
 */
export class RevocationWatcher {
  private constructor(private readonly inner: InstanceType<typeof native.AttestWatcher>) {}

  static open(dir: string, opts: { pollMs?: number } = {}): RevocationWatcher {
    if (typeof dir !== 'string') throw invalidArgument('dir', 'expected a string');
    const o = parseOptions('opts', z.strictObject({ pollMs: z.number().int().nonnegative().optional() }), opts);
    return new RevocationWatcher(callNative(() => new native.AttestWatcher(dir, o.pollMs)));
  }

  verify(envelope: Envelope | string | Uint8Array, opts: VerifyOptions): Verification {
    return this.verifyMany([envelope], opts)[0];
  }

  verifyMany(envelopes: readonly (Envelope | string | Uint8Array)[], opts: VerifyOptions): Verification[] {
    const e = envelopeArgs(envelopes);
    const o = optsJson(opts);
    return JSON.parse(callNative(() => this.inner.verifyMany(e, o)));
  }

  revocations(): Revocation[] {
    return JSON.parse(callNative(() => this.inner.revocations()));
  }
}

export class Authority {
  private closed = false;
  private constructor(private readonly inner: InstanceType<typeof native.AttestAuthority>) {}

  /**
   * Opens (creating) an authority directory: key store and audit ledger. Secret
   * keys are encrypted at rest (Argon2id + XChaCha20-Poly1305) under
   * `passphrase`; without one, `insecurePlaintext: true` must be explicit.
   * Directories are 0700 and files 0600 whatever the umask. One process
   * writes a directory at a time.
   */
  static async open(dir: string, opts: OpenOptions = {}): Promise<Authority> {
    if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'expected a non-empty string');
    const o = parseOptions('opts', openSchema, opts);
    return new Authority(await callNativeAsync(() => native.AttestAuthority.open(dir, o)));
  }

  /**
   * Encrypts the key store of a CLOSED authority directory under
   * `newPassphrase`: a plaintext store (no `passphrase`), or a re-key
   * (`passphrase` = the current one). Crash-safe.
   */
  static async reencrypt(dir: string, opts: { passphrase?: string; newPassphrase: string }): Promise<void> {
    if (typeof dir !== 'string' || dir === '') throw invalidArgument('dir', 'expected a non-empty string');
    const o = parseOptions('opts', reencryptSchema, opts);
    await callNativeAsync(() => native.attestReencrypt(dir, o.passphrase, o.newPassphrase));
  }

  /**
   * Verifies an audit bundle offline against trust anchors YOU hold: the
   * audit log's public key (`logPublicKey`) and/or trust `roots` (then the
   * envelope must verify against them). With neither the answer is
   * `valid: false` (`unknown_key`): a bundle's own key proves nothing. What
   * could not be checked is listed in `warnings`. No revocations apply here;
   * use `authority.verifyBundle` for that.
   */
  static verifyBundle(bundle: AuditBundle | string, opts: Partial<VerifyOptions> & { logPublicKey?: Uint8Array } = {}): Verification {
    const [b, lk, o] = bundleArgs(bundle, opts);
    return JSON.parse(callNative(() => native.attestVerifyBundle(b, lk, o)));
  }

  /** `Authority.verifyBundle` anchored in this authority: its log key (unless given) and its revocations. */
  verifyBundle(bundle: AuditBundle | string, opts: Partial<VerifyOptions> & { logPublicKey?: Uint8Array } = {}): Verification {
    const [b, lk, o] = bundleArgs(bundle, opts);
    return JSON.parse(callNative(() => this.h.verifyBundle(b, lk, o)));
  }

  private get h() {
    if (this.closed) throw new OmniError(ErrorCodes.CLOSED, 'authority: closed');
    return this.inner;
  }

  createKey(name: string): KeyInfo {
    return keyInfo(callNative(() => this.h.createKey(name)));
  }

  importPublicKey(name: string, publicKey: Uint8Array): KeyInfo {
    const pk = bytesOfLength('publicKey', publicKey, 32);
    return keyInfo(callNative(() => this.h.importPublicKey(name, pk)));
  }

  exportPublicKey(name: string): Uint8Array {
    return callNative(() => this.h.exportPublicKey(name));
  }

  keyInfo(name: string): KeyInfo {
    return keyInfo(callNative(() => this.h.keyInfo(name)));
  }

  listKeys(): KeyInfo[] {
    return (JSON.parse(callNative(() => this.h.listKeys())) as KeyInfo[]).map((k) => ({ ...k, publicKey: unb64(k.publicKey as unknown as string) }));
  }

  /** The public key that signs the audit ledger's checkpoints. */
  get logPublicKey(): Uint8Array | null {
    return callNative(() => this.h.logPublicKey()) ?? null;
  }

  /** The audit ledger's checkpoint origin (per authority). */
  get logOrigin(): string {
    return callNative(() => this.h.logOrigin());
  }

  /** Signs an in-toto statement; resolves only once its audit entry is durable. */
  async issue(req: { signer: string; subject: Subject[]; predicateType: string; predicate?: unknown; expiresAt?: number }): Promise<Issued> {
    return (await this.issueMany([req]))[0];
  }

  /** Many attestations with one ledger append (group commit). */
  async issueMany(reqs: IssueRequest[]): Promise<Issued[]> {
    const r = issueRequestsJson(reqs);
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.issueMany(r)));
  }

  /**
   * `issueMany` with each envelope as its canonical JSON string (RFC 8785, the
   * bytes `JSON.stringify` gives for `issueMany`'s envelope object): for
   * callers that store or send envelopes, with no parse and re-serialisation
   * of every envelope on the way.
   */
  async issueManyJson(reqs: (IssueRequest | string)[]): Promise<IssuedJson[]> {
    if (!Array.isArray(reqs)) throw invalidArgument('requests', 'expected an array');
    // a request given as its JSON text is checked natively (the same checks,
    // `requests[i]` named on a bad one): callers that already serialised the
    // predicate (e.g. to hash it) need not have it serialised a second time
    const r = reqs.map((q, i) => (typeof q === 'string' ? q : JSON.stringify(isPlainIssue(q) ? q : parseOptions(`requests[${i}]`, issueSchema, q))));
    const h = this.h;
    return issuedLines(await callNativeAsync(() => h.issueManyLines(r)));
  }

  /**
   * For omnitide modules whose own native code issues through this
   * authority (autoblock writes and signs its decisions in Rust from their
   * fields): runs `issue` with the native handle, errors mapped as every
   * other call's. Not part of the public API: the handle skips this class's
   * argument checks.
   * @internal
   */
  static issueNatively<T>(a: Authority, issue: (h: InstanceType<typeof native.AttestAuthority>) => Promise<T>): Promise<T> {
    const h = a.h;
    return callNativeAsync(() => issue(h));
  }

  /** Adds `signer`'s signature (multi-signature envelopes for thresholds). */
  async cosign(envelope: Envelope | string, signer: string): Promise<Issued> {
    const e = typeof envelope === 'string' ? envelope : JSON.stringify(parseOptions('envelope', envelopeSchema, envelope));
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.cosign(e, signer)));
  }

  /** A signed delegation from key `from` to key `to`, narrowed to `scope`. */
  async delegate(req: { from: string; to: string; scope?: Scope }): Promise<Issued> {
    const d = parseOptions('request', delegateSchema, req);
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.delegate(d.from, d.to, JSON.stringify(d.scope ?? {}))));
  }

  /**
   * Records a revocation of an attestation/delegation (by ID) or a key (by key
   * ID), signed by key `by` (and `cosigners`). Verifiers honour it only when
   * the signers have authority over the target: the attestation's signer or a
   * key above it in its chain; a delegated key itself or a key above it; for a
   * root key, a threshold of the `root` role. A key revoked here (by itself or
   * a key that delegated to it) cannot sign here any more.
   */
  async revoke(req: { attestation?: string; key?: string; reason: string; effectiveFrom?: number; by: string; cosigners?: string[] }): Promise<Issued> {
    const r = parseOptions('request', revokeSchema, req);
    const target = r.attestation !== undefined ? { attestation: r.attestation } : { key: r.key };
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.revoke(JSON.stringify(target), r.reason, r.effectiveFrom, r.by, r.cosigners)));
  }

  /** Signs a root document with the named keys (for a rotation: a threshold of the old AND of the new root keys). */
  async signRoot(root: TrustRoot, signers: string[]): Promise<Issued> {
    const r = parseOptions('root', trustRootSchema, root);
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.signRoot(JSON.stringify(r), signers)));
  }

  /** Verifies with this authority's revocations (re-reading its ledger if stale). */
  verify(envelope: Envelope | string | Uint8Array, opts: VerifyOptions): Verification {
    return this.verifyMany([envelope], opts)[0];
  }

  verifyMany(envelopes: readonly (Envelope | string | Uint8Array)[], opts: VerifyOptions): Verification[] {
    const e = envelopeArgs(envelopes);
    const o = optsJson(opts);
    return JSON.parse(callNative(() => this.h.verifyMany(e, o)));
  }

  async verifyManyAsync(envelopes: readonly (Envelope | string | Uint8Array)[], opts: VerifyOptions): Promise<Verification[]> {
    const e = envelopeArgs(envelopes);
    const o = optsJson(opts);
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.verifyManyAsync(e, o)));
  }

  revocations(): Revocation[] {
    return JSON.parse(callNative(() => this.h.revocations()));
  }

  /** The envelope's latest audit entry with its inclusion proof and a signed checkpoint. */
  async auditBundle(id: string): Promise<AuditBundle> {
    const i = parseOptions('id', hex64, id);
    const h = this.h;
    return JSON.parse(await callNativeAsync(() => h.auditBundle(i)));
  }

  /** Releases the directory (the ledger lock is dropped once in-flight operations finish). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    callNative(() => this.inner.close());
  }
}
