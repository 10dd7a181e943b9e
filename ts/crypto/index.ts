/**
 * `omnitide/crypto`: BLAKE3 and Ed25519 on the native hot path.
 */
export * as blake3 from './blake3.js';
export * as ed25519 from './ed25519.js';
export type { HashOptions, HasherOptions, FileOptions, Hasher } from './blake3.js';
export type { KeyPair, VerifyMode, VerifyOptions, BatchItem, Signer } from './ed25519.js';
export { OmniError } from '../errors.js';
