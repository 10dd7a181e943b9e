import { z } from 'zod';
import { callNative, callNativeAsync, fromNative, invalidArgument } from '../errors.js';
import { native } from '../native.js';
import { bytesOfLength, bytesOrString, describe, packBytes, parseOptions } from '../validate.js';

export const SECRET_KEY_LENGTH = 32;
export const PUBLIC_KEY_LENGTH = 32;
export const SIGNATURE_LENGTH = 64;

export interface KeyPair {
  /** The 32-byte RFC 8032 seed. */
  secretKey: Uint8Array;
  publicKey: Uint8Array;
}

/**
 * `strict` (default): RFC 8032 with the cofactored equation, canonical S,
 * canonical encodings, small-order A and R rejected. `zip215`: the ZIP-215
 * consensus rules (accepts non-canonical and small-order points).
 */
export type VerifyMode = 'strict' | 'zip215';
export interface VerifyOptions {
  mode?: VerifyMode;
}
const verifyOptions = z.strictObject({ mode: z.enum(['strict', 'zip215']).optional() });
const batchOptions = verifyOptions.extend({ parallel: z.boolean().optional() });

export interface BatchItem {
  signature: Uint8Array;
  message: Uint8Array | string;
  publicKey: Uint8Array;
}

export function generateKeyPair(): KeyPair {
  const kp = callNative(() => native.ed25519GenerateKeyPair());
  return { secretKey: kp.secretKey, publicKey: kp.publicKey };
}

export function publicKeyFromSecret(secretKey: Uint8Array): Uint8Array {
  const sk = bytesOfLength('secretKey', secretKey, SECRET_KEY_LENGTH);
  return callNative(() => native.ed25519PublicKeyFromSecret(sk));
}

/**
 * Signs with the 32-byte seed. The public key is always derived from the
 * seed: no call takes a separate public key (that oracle leaks the secret).
 */
export function sign(message: Uint8Array | string, secretKey: Uint8Array): Uint8Array {
  const m = bytesOrString('message', message);
  const sk = bytesOfLength('secretKey', secretKey, SECRET_KEY_LENGTH);
  try {
    native.ed25519SignInto(m, sk, sigScratch);
  } catch (err) {
    throw fromNative(err);
  }
  return sigScratch.slice();
}

// Signatures are written here and copied out: cheaper than a native allocation.
const sigScratch = new Uint8Array(SIGNATURE_LENGTH);

/** A key expanded once, for signing many messages. */
export interface Signer {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array | string): Uint8Array;
}

export function createSigner(secretKey: Uint8Array): Signer {
  const sk = bytesOfLength('secretKey', secretKey, SECRET_KEY_LENGTH);
  const inner = callNative(() => new native.Ed25519Signer(sk));
  const publicKey = inner.publicKey;
  return {
    publicKey,
    sign(message) {
      const m = bytesOrString('message', message);
      try {
        inner.signInto(m, sigScratch);
      } catch (err) {
        throw fromNative(err);
      }
      return sigScratch.slice();
    },
  };
}

/** Forgets the expanded keys `sign` keeps for the last few secret keys. */
export function clearKeyCache(): void {
  callNative(() => native.ed25519ClearKeyCache());
}

function modeOf(opts: VerifyOptions | undefined): VerifyMode | undefined {
  return opts === undefined ? undefined : parseOptions('opts', verifyOptions, opts).mode;
}

/** True when `signature` is valid; false for any bad signature. Throws only for malformed arguments. */
export function verify(
  signature: Uint8Array,
  message: Uint8Array | string,
  publicKey: Uint8Array,
  opts?: VerifyOptions,
): boolean {
  const sig = bytesOfLength('signature', signature, SIGNATURE_LENGTH);
  const m = bytesOrString('message', message);
  const pk = bytesOfLength('publicKey', publicKey, PUBLIC_KEY_LENGTH);
  const mode = modeOf(opts);
  return callNative(() => native.ed25519Verify(sig, m, pk, mode));
}

interface Packed {
  signatures: Uint8Array;
  publicKeys: Uint8Array;
  messages: Uint8Array;
  messageEnds: Uint32Array;
}

function pack(items: ReadonlyArray<BatchItem>): Packed {
  if (!Array.isArray(items)) throw invalidArgument('items', `expected an array of { signature, message, publicKey }, got ${describe(items)}`);
  const n = items.length;
  const signatures = new Uint8Array(n * SIGNATURE_LENGTH);
  const publicKeys = new Uint8Array(n * PUBLIC_KEY_LENGTH);
  const msgs: Uint8Array[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const it = items[i];
    if (it === null || typeof it !== 'object') throw invalidArgument(`items[${i}]`, `expected an object, got ${describe(it)}`);
    // Argument names are built only on the error path: three template strings
    // per item cost as much as the rest of the packing. (A view of the full
    // length is not detached, so these checks are those of bytesOfLength.)
    const { signature: sig, publicKey: pk, message: m } = it;
    signatures.set(sig instanceof Uint8Array && sig.byteLength === SIGNATURE_LENGTH ? sig : bytesOfLength(`items[${i}].signature`, sig, SIGNATURE_LENGTH), i * SIGNATURE_LENGTH);
    publicKeys.set(pk instanceof Uint8Array && pk.byteLength === PUBLIC_KEY_LENGTH ? pk : bytesOfLength(`items[${i}].publicKey`, pk, PUBLIC_KEY_LENGTH), i * PUBLIC_KEY_LENGTH);
    msgs[i] = m instanceof Uint8Array && m.byteLength > 0 ? m : bytesOrString(`items[${i}].message`, m);
  }
  const { data: messages, ends: messageEnds } = packBytes('items', msgs);
  return { signatures, publicKeys, messages, messageEnds };
}

/** The addon's one byte per item (1 valid, 0 not) as booleans. */
function toBooleans(answers: Uint8Array): boolean[] {
  const out: boolean[] = new Array(answers.length);
  for (let i = 0; i < answers.length; i++) out[i] = answers[i] === 1;
  return out;
}

/**
 * Verifies many signatures in one native call (batch equation, bisection to
 * find the bad ones, spread over threads for large batches). `result[i]`
 * always equals `verify(items[i])` in the same mode.
 */
export function verifyBatch(items: ReadonlyArray<BatchItem>, opts?: VerifyOptions & { parallel?: boolean }): boolean[] {
  const o = opts === undefined ? {} : parseOptions('opts', batchOptions, opts);
  const p = pack(items);
  const answers = new Uint8Array(p.messageEnds.length);
  callNative(() => native.ed25519VerifyBatch(p.signatures, p.publicKeys, p.messages, p.messageEnds, answers, o.mode, o.parallel));
  return toBooleans(answers);
}

/** `verifyBatch` off the event loop. */
export function verifyBatchAsync(items: ReadonlyArray<BatchItem>, opts?: VerifyOptions): Promise<boolean[]> {
  return callNativeAsync(async () => {
    const mode = modeOf(opts);
    const p = pack(items);
    return toBooleans(await native.ed25519VerifyBatchAsync(p.signatures, p.publicKeys, p.messages, p.messageEnds, mode));
  });
}
