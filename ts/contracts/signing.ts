/**
 * Signed contract versions (opt-in): a compiled contract's bytes are attested with
 * omnitide/attest (an in-toto statement whose subject is the BLAKE3 digest of the bytes,
 * the predicate names the contract, its version and target) and the version is appended to
 * an omnitide/ledger log. An enforcement point calls `verifyCompiled` with the bytes it is
 * about to run: a tampered module or an untrusted signer is refused with an OmniError.
 * Only the public APIs of attest, ledger and crypto are used.
 */
import { z } from 'zod';
import { type Authority, type Envelope, type TrustRoot, verify } from '../attest/index.js';
import { blake3 } from '../crypto/index.js';
import { OmniError } from '../errors.js';
import type { Ledger } from '../ledger/index.js';
import { parseOptions } from '../validate.js';

export const CONTRACT_PREDICATE = 'https://omnitide.dev/contracts/compiled/v1';
/** The bytes do not match the signed digest. */
export const CONTRACT_TAMPERED = 'ERR_OMNI_CONTRACT_TAMPERED';
/** The signature does not verify against the trust roots (unknown key, bad signature, expired, revoked). */
export const CONTRACT_UNTRUSTED = 'ERR_OMNI_CONTRACT_UNTRUSTED';

export interface ContractVersion {
  name: string;
  version: number;
  target: 'wasm' | 'js';
  /** hex BLAKE3 of the compiled bytes */
  digest: string;
}
export interface SignedContract extends ContractVersion {
  envelope: Envelope;
  /** attestation id (hex) */
  id: string;
  /** index of the version's entry in the ledger given to `signCompiled`, if any */
  ledgerIndex: number | null;
}

const nameRe = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,127}$/;
const signSchema = z.strictObject({
  authority: z.custom<Authority>((v) => typeof v === 'object' && v !== null && typeof (v as Authority).issue === 'function', 'must be an attest Authority'),
  signer: z.string().min(1),
  name: z.string().regex(nameRe, 'must be 1-128 characters of [A-Za-z0-9._/-]'),
  version: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
  ledger: z.custom<Ledger>((v) => typeof v === 'object' && v !== null && typeof (v as Ledger).append === 'function', 'must be a Ledger').optional(),
});
export type SignOptions = z.input<typeof signSchema>;

function bytesOf(arg: string, compiled: { bytes: Uint8Array } | { source: string }): { bytes: Uint8Array; target: 'wasm' | 'js' } {
  if (typeof compiled === 'object' && compiled !== null && 'bytes' in compiled && compiled.bytes instanceof Uint8Array) return { bytes: compiled.bytes, target: 'wasm' };
  if (typeof compiled === 'object' && compiled !== null && 'source' in compiled && typeof compiled.source === 'string') return { bytes: new TextEncoder().encode(compiled.source), target: 'js' };
  throw new OmniError('ERR_OMNI_INVALID_ARGUMENT', `${arg}: must be a compiled contract (compileWasm(...) or compileJs(...))`);
}

/** Signs a compiled contract (its bytes' digest and version) and appends the version to `ledger`. */
export async function signCompiled(compiled: { bytes: Uint8Array } | { source: string }, opts: SignOptions): Promise<SignedContract> {
  const o = parseOptions('opts', signSchema, opts);
  const { bytes, target } = bytesOf('compiled', compiled);
  const digest = blake3.toHex(blake3.hash(bytes));
  const v: ContractVersion = { name: o.name, version: o.version, target, digest };
  const issued = await o.authority.issue({ signer: o.signer, subject: [{ name: `contract/${o.name}`, digest: { blake3: digest } }], predicateType: CONTRACT_PREDICATE, predicate: v });
  let ledgerIndex: number | null = null;
  if (o.ledger) ledgerIndex = (await o.ledger.append({ kind: 'contract-version', ...v, attestation: issued.id })).index;
  return { ...v, envelope: issued.envelope, id: issued.id, ledgerIndex };
}

const verifySchema = z.strictObject({
  roots: z.union([z.array(z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'must be a public key (Uint8Array)')).min(1), z.custom<TrustRoot>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), 'must be a trust root')]),
  name: z.string().optional(),
  minVersion: z.number().int().min(0).optional(),
  at: z.number().int().optional(),
});
export type VerifyCompiledOptions = z.input<typeof verifySchema>;

/**
 * Proves which contract version `bytes` are: the envelope must verify against `roots`, name
 * the contract predicate, and carry the BLAKE3 digest of exactly these bytes. Returns the
 * version; throws CONTRACT_UNTRUSTED or CONTRACT_TAMPERED (never a partial answer).
 */
export function verifyCompiled(compiled: { bytes: Uint8Array } | { source: string } | Uint8Array, envelope: Envelope | string, opts: VerifyCompiledOptions): ContractVersion & { id: string; signers: string[] } {
  const o = parseOptions('opts', verifySchema, opts);
  const { bytes } = compiled instanceof Uint8Array ? { bytes: compiled } : bytesOf('compiled', compiled);
  const v = verify(envelope, { roots: o.roots as never, ...(o.at === undefined ? {} : { at: o.at }) });
  if (!v.valid) throw new OmniError(CONTRACT_UNTRUSTED, `envelope: the contract signature is not trusted (${v.reason}: ${v.detail})`);
  if (v.predicateType !== CONTRACT_PREDICATE) throw new OmniError(CONTRACT_UNTRUSTED, `envelope: predicate type is ${v.predicateType}, not a compiled contract`);
  const env = typeof envelope === 'string' ? (JSON.parse(envelope) as Envelope) : envelope;
  const stmt = JSON.parse(Buffer.from(env.payload, 'base64').toString('utf8')) as { subject: { name: string; digest: Record<string, string> }[]; predicate: ContractVersion };
  const p = stmt.predicate;
  const digest = blake3.toHex(blake3.hash(bytes));
  const signed = stmt.subject.find((s) => s.name === `contract/${p.name}`)?.digest.blake3;
  if (signed !== digest || p.digest !== digest) {
    throw new OmniError(CONTRACT_TAMPERED, `compiled: the bytes (blake3 ${digest.slice(0, 16)}…) are not the signed contract ${p.name}@${p.version} (blake3 ${String(signed).slice(0, 16)}…)`);
  }
  if (o.name !== undefined && p.name !== o.name) throw new OmniError(CONTRACT_UNTRUSTED, `envelope: signs contract '${p.name}', expected '${o.name}'`);
  if (o.minVersion !== undefined && p.version < o.minVersion) throw new OmniError(CONTRACT_UNTRUSTED, `envelope: version ${p.version} of '${p.name}' is older than the minimum ${o.minVersion} (rollback refused)`);
  return { name: p.name, version: p.version, target: p.target, digest, id: v.id ?? '', signers: v.signers };
}
